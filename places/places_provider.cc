#include "places/places_provider.h"

#include <cstddef>

namespace herd {

PlacesText RenderPlacesText(const nlohmann::json& answer) {
  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
  return PlacesText{answer.dump(3, ' ', false, kReplace), answer.dump(-1, ' ', false, kReplace)};
}

std::shared_ptr<const PlacesText> PlacesProvider::RenderedNow(const PlacesQuery&) {
  return nullptr;
}

nlohmann::json PlacesFailure(const char* status) {
  return {{"html_attributions", nlohmann::json::array()},
          {"results", nlohmann::json::array()},
          {"status", status}};
}

bool IsValidPlacesQuery(const PlacesQuery& q) {
  return IsValidLatitude(q.latitude) && IsValidLongitude(q.longitude) &&
         IsValidRadiusKm(q.radius_km) && IsValidResultCount(q.max_results);
}

void CutResults(nlohmann::json* response, int max_results) {
  if (!response->is_object()) return;
  const auto it = response->find("results");
  if (it == response->end() || !it->is_array()) return;
  const size_t keep = max_results < 0 ? 0 : static_cast<size_t>(max_results);
  if (it->size() > keep) it->erase(it->begin() + static_cast<std::ptrdiff_t>(keep), it->end());
}

}  // namespace herd
