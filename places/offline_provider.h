#ifndef HERD_PLACES_OFFLINE_PROVIDER_H_
#define HERD_PLACES_OFFLINE_PROVIDER_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "places/gazetteer.h"
#include "places/places_provider.h"

namespace herd {

// The credit every answer showing GeoNames places carries (CC BY 4.0 asks for
// it), in the response's "html_attributions".
inline constexpr char kGeoNamesAttribution[] =
    "Data from GeoNames (https://www.geonames.org), CC BY 4.0";

// A PlacesProvider that answers from a Gazetteer in memory: no network, no
// key, no quota. Places come back nearest first as Nearby Search results of
// type locality; a query outside PlacesQuery's documented ranges gets
// INVALID_REQUEST, an empty answer ZERO_RESULTS.
//
// Thread-safe: the gazetteer is immutable, and Nearby() calls `done` before
// returning, on the caller's thread (a query costs microseconds).
class OfflinePlacesProvider : public PlacesProvider {
 public:
  // REQUIRES: gazetteer != nullptr.
  explicit OfflinePlacesProvider(std::shared_ptr<const Gazetteer> gazetteer);
  OfflinePlacesProvider(const OfflinePlacesProvider&) = delete;
  OfflinePlacesProvider& operator=(const OfflinePlacesProvider&) = delete;

  void Nearby(const PlacesQuery& query, Callback done) override;

  // The Nearby Search response for `query` (what Nearby() passes to `done`).
  nlohmann::json Answer(const PlacesQuery& query) const;

 private:
  const std::shared_ptr<const Gazetteer> gazetteer_;
};

// A place's id in results: "geonames:" and 16 hex digits hashing its name,
// coordinates, country and admin1. The same place keeps its id across
// processes, builds and data updates that leave it unchanged (unlike a
// position in the file).
std::string GeoNamesPlaceId(const Place& place);

}  // namespace herd

#endif  // HERD_PLACES_OFFLINE_PROVIDER_H_
