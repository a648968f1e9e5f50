#include "places/gazetteer.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numbers>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/geo.h"
#include "common/limits.h"
#include "common/strings.h"

#ifndef HERD_DEFAULT_GAZETTEER
// Set by places/CMakeLists.txt; this fallback only works from the source root.
#define HERD_DEFAULT_GAZETTEER "places/data/geonames-cities.tsv"
#endif

namespace herd {
namespace {

// The grid: rows of latitude from -90, columns of longitude from -180.
constexpr int kRows = static_cast<int>(180 / Gazetteer::kCellDegrees);
constexpr int kCols = static_cast<int>(360 / Gazetteer::kCellDegrees);
static_assert(kRows * Gazetteer::kCellDegrees == 180 && kCols * Gazetteer::kCellDegrees == 360,
              "cells must tile the globe");

// Widens query windows so that rounding in the trigonometry can never drop a
// place on the window's edge (1e-7 degrees is about a centimetre).
constexpr double kSlackDegrees = 1e-7;

int RowOf(double lat) {
  const int row = static_cast<int>(std::floor((lat + 90) / Gazetteer::kCellDegrees));
  return std::clamp(row, 0, kRows - 1);  // lat = 90 belongs to the top row
}

// Column without wrapping: may be < 0 or >= kCols for windows that cross the
// ±180° meridian.
int64_t UnwrappedColOf(double lng) {
  return static_cast<int64_t>(std::floor((lng + 180) / Gazetteer::kCellDegrees));
}

int WrapCol(int64_t col) {
  const int64_t wrapped = col % kCols;
  return static_cast<int>(wrapped < 0 ? wrapped + kCols : wrapped);
}

uint32_t CellKey(int row, int col) {
  return static_cast<uint32_t>(row) * kCols + static_cast<uint32_t>(col);
}

uint32_t CellKeyOf(double lat, double lng) {
  // WrapCol makes lng = 180 and lng = -180 (the same meridian) one column.
  return CellKey(RowOf(lat), WrapCol(UnwrappedColOf(lng)));
}

// Maps any finite longitude into [-180, 180].
double WrapLongitude(double lng) {
  if (lng >= -180 && lng <= 180) return lng;
  return std::remainder(lng, 360.0);
}

// The grid cells that can hold a point within a radius of a centre: rows
// [first_row, last_row], and in each the `num_cols` columns starting at
// `first_col` (wrapping past the last column to the first).
struct Window {
  int first_row;
  int last_row;
  int first_col;
  int num_cols;  // kCols: the whole row
};

Window CoveringWindow(double lat, double lng, double radius_km) {
  const CapBox box = BoundingBoxOfCap(lat, lng, radius_km, kSlackDegrees);
  Window window{RowOf(box.lat_lo), RowOf(box.lat_hi), 0, kCols};
  if (box.every_longitude) return window;
  const int64_t lo = UnwrappedColOf(box.lng_lo);
  const int64_t hi = UnwrappedColOf(box.lng_hi);
  if (hi - lo + 1 >= kCols) return window;
  window.first_col = WrapCol(lo);
  window.num_cols = static_cast<int>(hi - lo + 1);
  return window;
}

// A field quoted for an error message: escaped and cut short.
std::string Quote(absl::string_view field) {
  constexpr size_t kMax = 40;
  std::string quoted = absl::StrCat("\"", absl::CHexEscape(field.substr(0, kMax)), "\"");
  if (field.size() > kMax) quoted += "...";
  return quoted;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    const std::string message =
        absl::StrCat("cannot open gazetteer ", path, ": ", std::strerror(error));
    return error == ENOENT ? absl::NotFoundError(message) : absl::UnavailableError(message);
  }
  std::string contents;
  std::array<char, 1 << 16> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) {
    contents.append(buffer.data(), n);
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) {
    return absl::UnavailableError(absl::StrCat("cannot read gazetteer ", path));
  }
  return contents;
}

// Splits a line at tabs into `fields`; returns how many fields the line has
// (which may exceed fields->size(), whose extra fields are dropped).
size_t SplitTabs(absl::string_view line, std::array<absl::string_view, 5>* fields) {
  size_t count = 0;
  while (true) {
    const size_t tab = line.find('\t');
    if (count < fields->size()) (*fields)[count] = line.substr(0, tab);
    ++count;
    if (tab == absl::string_view::npos) return count;
    line.remove_prefix(tab + 1);
  }
}

// Parses a coordinate (its range is the Builder's to check).
absl::Status ParseDegrees(absl::string_view field, absl::string_view what, double* out) {
  if (!absl::SimpleAtod(field, out) || !std::isfinite(*out)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", Quote(field), " is not a number"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string DefaultGazetteerPath() { return HERD_DEFAULT_GAZETTEER; }

// Collects checked places, then sorts them into a Gazetteer.
class Gazetteer::Builder {
 public:
  // Checks and adds one place; an error says what is wrong with it (the
  // caller adds where it is).
  absl::Status Add(absl::string_view name, double lat, double lng, absl::string_view country_code,
                   absl::string_view admin1) {
    if (name.empty()) return absl::InvalidArgumentError("empty name");
    // Strict UTF-8, so that JSON serialisation of names can never fail later.
    if (!IsValidUtf8(AsStd(name)) || !IsValidUtf8(AsStd(admin1))) {
      return absl::InvalidArgumentError("name or admin1 is not valid UTF-8");
    }
    if (name.size() > std::numeric_limits<uint16_t>::max()) {
      return absl::InvalidArgumentError("name longer than 65535 bytes");
    }
    if (!(lat >= -90 && lat <= 90)) {
      return absl::InvalidArgumentError(absl::StrCat("latitude ", lat, " outside [-90, 90]"));
    }
    if (!(lng >= -180 && lng <= 180)) {
      return absl::InvalidArgumentError(absl::StrCat("longitude ", lng, " outside [-180, 180]"));
    }
    if (country_code.size() != 2 || !absl::ascii_isupper(country_code[0]) ||
        !absl::ascii_isupper(country_code[1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("country code ", Quote(country_code), " is not two capital letters"));
    }
    absl::StatusOr<uint16_t> region = RegionOf(country_code, admin1);
    if (!region.ok()) return region.status();
    if (names_.size() + name.size() > std::numeric_limits<uint32_t>::max() ||
        pending_.size() >= std::numeric_limits<uint32_t>::max()) {
      return absl::ResourceExhaustedError("too many places");
    }
    const Entry entry{lat, lng, static_cast<uint32_t>(names_.size()),
                      static_cast<uint16_t>(name.size()), *region};
    names_.append(name.data(), name.size());
    pending_.push_back({entry, CellKeyOf(lat, lng), static_cast<uint32_t>(pending_.size())});
    return absl::OkStatus();
  }

  size_t size() const { return pending_.size(); }

  std::unique_ptr<Gazetteer> Build() && {
    // Sorted by cell so a query reads each cell as one contiguous run; by
    // source index within a cell so the layout does not depend on sort
    // stability.
    std::sort(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) {
      return std::tie(a.cell_key, a.source_index) < std::tie(b.cell_key, b.source_index);
    });
    std::unique_ptr<Gazetteer> g(new Gazetteer());
    g->entries_.reserve(pending_.size());
    g->cell_keys_.reserve(pending_.size());
    g->source_index_.reserve(pending_.size());
    for (const Pending& p : pending_) {
      g->entries_.push_back(p.entry);
      g->cell_keys_.push_back(p.cell_key);
      g->source_index_.push_back(p.source_index);
    }
    names_.shrink_to_fit();
    g->names_ = std::move(names_);
    g->regions_ = std::move(regions_);
    return g;
  }

 private:
  struct Pending {
    Entry entry;
    uint32_t cell_key;
    uint32_t source_index;
  };

  // The index of the (country, admin1) pair, added if new.
  // REQUIRES: country_code has two characters (so it needs no separator).
  absl::StatusOr<uint16_t> RegionOf(absl::string_view country_code, absl::string_view admin1) {
    // Reuses one buffer: most places repeat a known pair, which then costs
    // no allocation.
    region_key_.assign(country_code.data(), country_code.size());
    region_key_.append(admin1.data(), admin1.size());
    auto it = region_ids_.find(absl::string_view(region_key_));
    if (it != region_ids_.end()) return it->second;
    if (regions_.size() > std::numeric_limits<uint16_t>::max()) {
      return absl::ResourceExhaustedError("more than 65536 distinct (country, admin1) pairs");
    }
    const auto id = static_cast<uint16_t>(regions_.size());
    regions_.push_back({std::string(country_code), std::string(admin1)});
    region_ids_.emplace(region_key_, id);
    return id;
  }

  std::vector<Pending> pending_;
  std::string names_;
  std::vector<Region> regions_;
  absl::flat_hash_map<std::string, uint16_t> region_ids_;  // country + admin1
  std::string region_key_;
};

absl::StatusOr<std::unique_ptr<Gazetteer>> Gazetteer::Load(const std::string& tsv_path) {
  absl::StatusOr<std::string> contents = ReadFile(tsv_path);
  if (!contents.ok()) return contents.status();
  absl::string_view rest = *contents;
  Builder builder;
  for (size_t line_number = 1; !rest.empty(); ++line_number) {
    const size_t end = rest.find('\n');
    absl::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == absl::string_view::npos ? rest.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    const auto fail = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(tsv_path, ":", line_number, ": ", what));
    };
    std::array<absl::string_view, 5> f;
    const size_t count = SplitTabs(line, &f);
    if (count != f.size()) {
      return fail(
          absl::StrCat("expected 5 tab-separated fields (name, latitude, longitude, "
                       "country code, admin1), got ",
                       count));
    }
    double lat;
    double lng;
    absl::Status status = ParseDegrees(f[1], "latitude", &lat);
    if (status.ok()) status = ParseDegrees(f[2], "longitude", &lng);
    if (status.ok()) status = builder.Add(f[0], lat, lng, f[3], f[4]);
    if (!status.ok()) return fail(status.message());
  }
  if (builder.size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(tsv_path, ": gazetteer has no places"));
  }
  return std::move(builder).Build();
}

absl::StatusOr<std::unique_ptr<Gazetteer>> Gazetteer::FromPlaces(const std::vector<Place>& places) {
  Builder builder;
  for (size_t i = 0; i < places.size(); ++i) {
    const Place& p = places[i];
    absl::Status status = builder.Add(p.name, p.latitude, p.longitude, p.country_code, p.admin1);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("place ", i, ": ", status.message()));
    }
  }
  return std::move(builder).Build();
}

Gazetteer::~Gazetteer() = default;

std::vector<Match> Gazetteer::Nearest(double lat, double lng, double radius_km,
                                      int max_results) const {
  if (!(lat >= -90 && lat <= 90) || !std::isfinite(lng) || !(radius_km > 0) || max_results <= 0) {
    return {};
  }
  lng = WrapLongitude(lng);
  const Window w = CoveringWindow(lat, lng, radius_km);
  std::vector<Candidate> found;
  if (w.num_cols == kCols) {
    // Whole rows are adjacent in key order: one run for all of them.
    CollectCells(CellKey(w.first_row, 0), CellKey(w.last_row, kCols - 1), lat, lng, radius_km,
                 &found);
  } else {
    for (int row = w.first_row; row <= w.last_row; ++row) {
      const int end = w.first_col + w.num_cols;  // one past, unwrapped
      CollectCells(CellKey(row, w.first_col), CellKey(row, std::min(end, kCols) - 1), lat, lng,
                   radius_km, &found);
      if (end > kCols) {  // the window crosses ±180°: the rest of it
        CollectCells(CellKey(row, 0), CellKey(row, end - kCols - 1), lat, lng, radius_km, &found);
      }
    }
  }

  const auto nearer = [](const Candidate& a, const Candidate& b) {
    return std::tie(a.distance_km, a.source_index) < std::tie(b.distance_km, b.source_index);
  };
  const size_t n = std::min(found.size(), static_cast<size_t>(max_results));
  std::partial_sort(found.begin(), found.begin() + n, found.end(), nearer);
  std::vector<Match> matches;
  matches.reserve(n);
  for (size_t i = 0; i < n; ++i) matches.push_back(MakeMatch(found[i]));
  return matches;
}

void Gazetteer::CollectCells(uint32_t first_key, uint32_t last_key, double lat, double lng,
                             double radius_km, std::vector<Candidate>* out) const {
  const auto begin = std::lower_bound(cell_keys_.begin(), cell_keys_.end(), first_key);
  const auto end = std::upper_bound(begin, cell_keys_.end(), last_key);
  for (auto it = begin; it != end; ++it) {
    const auto position = static_cast<uint32_t>(it - cell_keys_.begin());
    const Entry& e = entries_[position];
    const double d = HaversineKm(lat, lng, e.lat, e.lng);
    if (d <= radius_km) out->push_back({d, source_index_[position], position});
  }
}

Match Gazetteer::MakeMatch(const Candidate& candidate) const {
  const Entry& e = entries_[candidate.position];
  const Region& region = regions_[e.region];
  Match m;
  m.place.name = names_.substr(e.name_begin, e.name_size);
  m.place.latitude = e.lat;
  m.place.longitude = e.lng;
  m.place.country_code = region.country_code;
  m.place.admin1 = region.admin1;
  m.distance_km = candidate.distance_km;
  m.index = candidate.source_index;
  return m;
}

size_t Gazetteer::MemoryUsage() const {
  size_t bytes = sizeof(*this) + entries_.capacity() * sizeof(Entry) +
                 cell_keys_.capacity() * sizeof(uint32_t) +
                 source_index_.capacity() * sizeof(uint32_t) + names_.capacity() +
                 regions_.capacity() * sizeof(Region);
  for (const Region& r : regions_) {
    bytes += r.country_code.capacity() + r.admin1.capacity();
  }
  return bytes;
}

}  // namespace herd
