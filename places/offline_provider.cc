#include "places/offline_provider.h"

#include <cmath>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/macros.h"
#include "absl/strings/str_cat.h"

namespace herd {
namespace {

// FNV-1a, 64 bits: tiny, and unlike absl::Hash the same in every process.
class Fnv1a64 {
 public:
  void Add(std::string_view bytes) {
    for (char c : bytes) {
      hash_ ^= static_cast<unsigned char>(c);
      hash_ *= 0x100000001b3ULL;
    }
    hash_ ^= 0xff;  // field separator: ("ab","c") and ("a","bc") differ
    hash_ *= 0x100000001b3ULL;
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// "California, US"; just "US" when GeoNames names no admin1.
std::string Vicinity(const Place& place) {
  if (place.admin1.empty()) return place.country_code;
  return absl::StrCat(place.admin1, ", ", place.country_code);
}

nlohmann::json Result(const Place& place) {
  return {
      {"place_id", GeoNamesPlaceId(place)},
      {"name", place.name},
      {"geometry", {{"location", {{"lat", place.latitude}, {"lng", place.longitude}}}}},
      {"vicinity", Vicinity(place)},
      {"types", nlohmann::json::array({"locality", "political"})},
  };
}

}  // namespace

std::string GeoNamesPlaceId(const Place& place) {
  Fnv1a64 h;
  h.Add(place.name);
  // Coordinates at the source's precision (1e-5 degrees) as integers, so the
  // id never depends on how a double prints.
  h.Add(absl::StrCat(std::llround(place.latitude * 1e5)));
  h.Add(absl::StrCat(std::llround(place.longitude * 1e5)));
  h.Add(place.country_code);
  h.Add(place.admin1);
  return absl::StrCat("geonames:", absl::Hex(h.value(), absl::kZeroPad16));
}

OfflinePlacesProvider::OfflinePlacesProvider(std::shared_ptr<const Gazetteer> gazetteer)
    : gazetteer_(std::move(gazetteer)) {
  ABSL_ASSERT(gazetteer_ != nullptr);
}

void OfflinePlacesProvider::Nearby(const PlacesQuery& query, Callback done) {
  std::move(done)(Answer(query));
}

nlohmann::json OfflinePlacesProvider::Answer(const PlacesQuery& query) const {
  // Outside PlacesQuery's ranges Google says INVALID_REQUEST too.
  if (!IsValidPlacesQuery(query)) return PlacesFailure("INVALID_REQUEST");
  const std::vector<Match> matches =
      gazetteer_->Nearest(query.latitude, query.longitude, query.radius_km, query.max_results);
  // Not a failure, but the same shape: nothing found, nothing to credit.
  if (matches.empty()) return PlacesFailure("ZERO_RESULTS");
  nlohmann::json results = nlohmann::json::array();
  for (const Match& m : matches) results.push_back(Result(m.place));
  return {{"html_attributions", nlohmann::json::array({kGeoNamesAttribution})},
          {"results", std::move(results)},
          {"status", "OK"}};
}

}  // namespace herd
