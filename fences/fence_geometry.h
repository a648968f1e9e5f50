#ifndef HERD_FENCES_FENCE_GEOMETRY_H_
#define HERD_FENCES_FENCE_GEOMETRY_H_

// Fence shapes on the sphere with S2: the GeoJSON polygon reader (checked
// the way the proto promises: closed rings, no crossings, holes inside the
// outer ring, orientation free) and the conversions between herd's degrees
// and metres and S2's points and angles. Pure functions, thread-safe.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "s2/s1chord_angle.h"
#include "s2/s2cap.h"
#include "s2/s2point.h"
#include "s2/s2polygon.h"

namespace herd {

inline constexpr size_t kMaxGeoJsonBytes = size_t{1} << 20;
inline constexpr size_t kMaxPolygonVertices = 10000;  // positions in all rings

// A number as error messages show it: up to 15 significant digits, no
// exponent below 1e15 ("20000000", "-180.5", "nan").
std::string FormatNumber(double value);

// The unit vector of a point given in degrees.
S2Point PointFromDegrees(double latitude, double longitude);

// The angle a great-circle distance in metres subtends (herd's Earth
// radius, common/geo.h).
S1ChordAngle AngleFromMetres(double metres);
double MetresFromAngle(S1Angle angle);

// Every point within `radius_m` (inclusive) of a centre.
S2Cap CapFromCircle(double latitude, double longitude, double radius_m);

// Reads a GeoJSON Polygon geometry into an S2Polygon whose loops are each
// normalised (so ring orientation does not matter: each ring bounds the side
// smaller than a hemisphere) and nested (the first ring is the shell, the
// others holes in it). INVALID_ARGUMENT whose message starts with `field`
// and names the position at fault ("fence.polygon.geojson: coordinates[0]:
// open ring ..."). The polygon's index is not built yet.
absl::StatusOr<std::unique_ptr<S2Polygon>> PolygonFromGeoJson(std::string_view geojson,
                                                              std::string_view field);

// Whether the great-circle segment a-b crosses or touches the polygon's
// boundary. REQUIRES: the polygon's index is built (concurrent callers).
bool SegmentTouchesBoundary(const S2Polygon& polygon, const S2Point& a, const S2Point& b);

}  // namespace herd

#endif  // HERD_FENCES_FENCE_GEOMETRY_H_
