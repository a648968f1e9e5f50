#include "places/places_provider.h"

namespace herd {

nlohmann::json PlacesFailure(const char* status) {
  return {{"html_attributions", nlohmann::json::array()},
          {"results", nlohmann::json::array()},
          {"status", status}};
}

}  // namespace herd
