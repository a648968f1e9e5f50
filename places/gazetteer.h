#ifndef HERD_PLACES_GAZETTEER_H_
#define HERD_PLACES_GAZETTEER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace herd {

// The gazetteer bundled with the source tree (places/data/geonames-cities.tsv),
// as an absolute path fixed at build time.
std::string DefaultGazetteerPath();

// A named place: a town or city.
struct Place {
  std::string name;
  double latitude = 0;       // degrees, [-90, 90]
  double longitude = 0;      // degrees, [-180, 180]
  std::string country_code;  // ISO 3166-1 alpha-2, e.g. "US"
  std::string admin1;        // first-level division, e.g. "California"; may be ""
};

// A place found near a point.
struct Match {
  Place place;
  double distance_km = 0;
  // Position of the place in its source: line number - 1 for Load(), vector
  // index for FromPlaces(). Stable for a given data file.
  uint32_t index = 0;
};

// A read-only set of places with a spatial index for "what is near here?".
//
// The index is an equirectangular grid of kCellDegrees cells. Places are
// stored sorted by cell, so a query visits only the cells that can hold a
// place within its radius: a few binary searches per grid row, then a
// haversine check per candidate. Queries are exact (never miss a place within
// the radius, never return one outside it), including across the ±180°
// meridian and around the poles. Memory: 32 bytes per place plus its name
// (about 7 MiB for the 171k places of the bundled file).
//
// Thread-safe: immutable after construction; any number of threads may call
// the const methods concurrently.
class Gazetteer {
 public:
  static constexpr double kCellDegrees = 0.25;

  // Reads a gazetteer file: UTF-8, one place per line, five tab-separated
  // fields (name, latitude, longitude, country code, admin1 name; see
  // places/data/README.md). A bad line is an error naming the file and line.
  static absl::StatusOr<std::unique_ptr<Gazetteer>> Load(const std::string& tsv_path);

  // Builds a gazetteer from places in memory (tests, other data sources).
  // A bad place is an error naming its index.
  static absl::StatusOr<std::unique_ptr<Gazetteer>> FromPlaces(const std::vector<Place>& places);

  Gazetteer(const Gazetteer&) = delete;
  Gazetteer& operator=(const Gazetteer&) = delete;
  ~Gazetteer();

  // Up to `max_results` places within `radius_km` (inclusive) of (lat, lng),
  // nearest first; equal distances in source order. Empty if the arguments
  // make no sense (latitude outside [-90, 90], non-positive radius or bound,
  // NaN). Longitudes outside [-180, 180] are wrapped.
  std::vector<Match> Nearest(double lat, double lng, double radius_km, int max_results) const;

  size_t size() const { return entries_.size(); }

  // Bytes held by this object (approximate; for startup logs and tests).
  size_t MemoryUsage() const;

 private:
  class Builder;

  // One place, 24 bytes. Names live in names_; country and admin1 pairs, which
  // repeat a lot, live once each in regions_.
  struct Entry {
    double lat;
    double lng;
    uint32_t name_begin;  // offset into names_
    uint16_t name_size;
    uint16_t region;  // index into regions_
  };
  struct Region {
    std::string country_code;
    std::string admin1;
  };
  // A place within the radius during a query: its position in entries_.
  struct Candidate {
    double distance_km;
    uint32_t source_index;
    uint32_t position;
  };

  Gazetteer() = default;

  // Adds the places of cells [first_key, last_key] within the radius.
  void CollectCells(uint32_t first_key, uint32_t last_key, double lat, double lng, double radius_km,
                    std::vector<Candidate>* out) const;
  Match MakeMatch(const Candidate& candidate) const;

  // All constant after construction. entries_, cell_keys_ and source_index_
  // run in parallel, sorted by (cell key, source index).
  std::vector<Entry> entries_;
  std::vector<uint32_t> cell_keys_;
  std::vector<uint32_t> source_index_;
  std::string names_;
  std::vector<Region> regions_;
};

}  // namespace herd

#endif  // HERD_PLACES_GAZETTEER_H_
