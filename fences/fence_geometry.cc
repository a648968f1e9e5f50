#include "fences/fence_geometry.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/geo.h"
#include "common/strings.h"
#include "s2/s2crossing_edge_query.h"
#include "s2/s2error.h"
#include "s2/s2latlng.h"
#include "s2/s2loop.h"

namespace herd {
namespace {

using Json = nlohmann::json;

constexpr double kEarthRadiusM = kEarthRadiusKm * 1000;
constexpr double kMinRingAreaM2 = 1;

// One ring as read: its positions (the closing repeat dropped) as points.
struct Ring {
  std::vector<S2Point> vertices;
};

absl::Status Invalid(std::string_view field, std::string_view where, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(AsAbsl(field), ": ", AsAbsl(where), ": ", AsAbsl(what)));
}

std::string PositionPath(size_t ring, size_t position) {
  return absl::StrCat("coordinates[", ring, "][", position, "]");
}

std::string RingPath(size_t ring) { return absl::StrCat("coordinates[", ring, "]"); }

// Reads [lon, lat, ...] (extra elements such as altitude are ignored).
absl::Status ReadPosition(const Json& position, std::string_view field, const std::string& where,
                          S2LatLng* out, std::pair<double, double>* raw) {
  if (!position.is_array() || position.size() < 2 || !position[0].is_number() ||
      !position[1].is_number()) {
    return Invalid(field, where, "a position is [longitude, latitude] in numbers");
  }
  const double longitude = position[0].get<double>();
  const double latitude = position[1].get<double>();
  if (!(longitude >= -180 && longitude <= 180)) {
    return Invalid(field, where,
                   absl::StrCat("longitude must be in [-180, 180], got ", FormatNumber(longitude)));
  }
  if (!(latitude >= -90 && latitude <= 90)) {
    return Invalid(field, where,
                   absl::StrCat("latitude must be in [-90, 90], got ", FormatNumber(latitude)));
  }
  *out = S2LatLng::FromDegrees(latitude, longitude);
  *raw = {longitude, latitude};
  return absl::OkStatus();
}

// Reads one closed ring, dropping repeated consecutive positions (GeoJSON
// allows them; S2 calls them degenerate edges).
absl::Status ReadRing(const Json& ring, size_t index, std::string_view field, size_t* vertex_budget,
                      Ring* out) {
  const std::string where = RingPath(index);
  if (!ring.is_array()) return Invalid(field, where, "a ring is an array of positions");
  if (ring.size() < 4) {
    return Invalid(field, where,
                   absl::StrCat("a ring has at least 4 positions (closed), got ", ring.size()));
  }
  if (ring.size() > *vertex_budget) {
    return Invalid(field, where,
                   absl::StrCat("a polygon has at most ", kMaxPolygonVertices, " positions"));
  }
  *vertex_budget -= ring.size();
  std::pair<double, double> first, raw;
  for (size_t i = 0; i < ring.size(); ++i) {
    S2LatLng latlng;
    if (absl::Status read = ReadPosition(ring[i], field, PositionPath(index, i), &latlng, &raw);
        !read.ok()) {
      return read;
    }
    if (i == 0) first = raw;
    if (i + 1 == ring.size()) break;  // the closing repeat, checked below
    const S2Point point = latlng.ToPoint();
    if (out->vertices.empty() || out->vertices.back() != point) out->vertices.push_back(point);
  }
  if (raw != first) {
    return Invalid(field, where, "open ring: its last position must repeat its first");
  }
  if (out->vertices.size() > 1 && out->vertices.back() == out->vertices.front()) {
    out->vertices.pop_back();
  }
  if (out->vertices.size() < 3) {
    return Invalid(field, where, "a ring needs at least 3 distinct positions");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<S2Loop>> LoopFromRing(const Ring& ring, size_t index,
                                                     std::string_view field) {
  auto loop = std::make_unique<S2Loop>(ring.vertices, S2Debug::DISABLE);
  S2Error error;
  if (loop->FindValidationError(&error)) {
    return Invalid(field, RingPath(index), absl::StrCat("not a simple ring: ", error.text()));
  }
  loop->Normalize();
  // A ring that runs back along itself, or a sliver, passes S2's checks but
  // bounds nothing anyone means (and its side could be either).
  if (loop->GetArea() < kMinRingAreaM2 / (kEarthRadiusM * kEarthRadiusM)) {
    return Invalid(field, RingPath(index), "a ring must enclose at least 1 square metre");
  }
  return loop;
}

// Holes must lie inside the shell and not inside one another (RFC 7946);
// InitNested would otherwise quietly make islands of them.
absl::Status CheckHoles(const std::vector<std::unique_ptr<S2Loop>>& loops, std::string_view field) {
  for (size_t i = 1; i < loops.size(); ++i) {
    if (!loops[0]->Contains(*loops[i])) {
      return Invalid(field, RingPath(i), "a hole must lie inside the outer ring (coordinates[0])");
    }
    for (size_t j = 1; j < loops.size(); ++j) {
      if (j != i && loops[j]->Contains(*loops[i])) {
        return Invalid(field, RingPath(i),
                       absl::StrCat("a hole must not lie inside another hole (", RingPath(j), ")"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.15g", value);
  return buffer;
}

S2Point PointFromDegrees(double latitude, double longitude) {
  return S2LatLng::FromDegrees(latitude, longitude).ToPoint();
}

S1ChordAngle AngleFromMetres(double metres) {
  return S1ChordAngle(S1Angle::Radians(metres / kEarthRadiusM));
}

double MetresFromAngle(S1Angle angle) { return angle.radians() * kEarthRadiusM; }

S2Cap CapFromCircle(double latitude, double longitude, double radius_m) {
  return S2Cap(PointFromDegrees(latitude, longitude), AngleFromMetres(radius_m));
}

absl::StatusOr<std::unique_ptr<S2Polygon>> PolygonFromGeoJson(std::string_view geojson,
                                                              std::string_view field) {
  if (geojson.size() > kMaxGeoJsonBytes) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(field), ": at most ", kMaxGeoJsonBytes,
                                                   " bytes, got ", geojson.size()));
  }
  const Json root = Json::parse(geojson.begin(), geojson.end(), nullptr,
                                /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(field), ": not valid JSON"));
  }
  const auto type = root.is_object() ? root.find("type") : root.end();
  const auto coordinates = root.is_object() ? root.find("coordinates") : root.end();
  if (type == root.end() || *type != "Polygon" || coordinates == root.end() ||
      !coordinates->is_array() || coordinates->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(field),
                     ": must be a GeoJSON Polygon: {\"type\": \"Polygon\", \"coordinates\": "
                     "[[[lon, lat], ...], ...]}"));
  }
  size_t vertex_budget = kMaxPolygonVertices;
  std::vector<std::unique_ptr<S2Loop>> loops;
  for (size_t i = 0; i < coordinates->size(); ++i) {
    Ring ring;
    if (absl::Status read = ReadRing((*coordinates)[i], i, field, &vertex_budget, &ring);
        !read.ok()) {
      return read;
    }
    absl::StatusOr<std::unique_ptr<S2Loop>> loop = LoopFromRing(ring, i, field);
    if (!loop.ok()) return loop.status();
    loops.push_back(*std::move(loop));
  }
  if (absl::Status holes = CheckHoles(loops, field); !holes.ok()) return holes;
  auto polygon = std::make_unique<S2Polygon>();
  polygon->set_s2debug_override(S2Debug::DISABLE);
  polygon->InitNested(std::move(loops));
  S2Error error;
  if (polygon->FindValidationError(&error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(field), ": coordinates: rings cross or touch: ", error.text()));
  }
  return polygon;
}

bool SegmentTouchesBoundary(const S2Polygon& polygon, const S2Point& a, const S2Point& b) {
  S2CrossingEdgeQuery query(&polygon.index());
  std::vector<s2shapeutil::ShapeEdge> edges;
  query.GetCrossingEdges(a, b, S2CrossingEdgeQuery::CrossingType::ALL, &edges);
  return !edges.empty();
}

}  // namespace herd
