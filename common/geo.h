#ifndef HERD_COMMON_GEO_H_
#define HERD_COMMON_GEO_H_

// Geometry on the sphere, one definition for everything that measures a
// distance: the store's location index (Within), the gazetteer and the
// Locations API's distances. Pure functions, thread-safe.

#include <numbers>

namespace herd {

// Mean Earth radius (IUGG), the one used for every distance in herd.
inline constexpr double kEarthRadiusKm = 6371.0088;

inline constexpr double kDegToRad = std::numbers::pi / 180;
inline constexpr double kRadToDeg = 180 / std::numbers::pi;

// Great-circle distance in km between two points given in degrees
// (haversine), exact at the antimeridian and the poles.
double HaversineKm(double lat1, double lng1, double lat2, double lng2);

// A latitude/longitude box that holds a spherical cap (every point within a
// radius of a centre): the one place that knows how a cap meets the poles
// and the antimeridian, for every grid that looks up points near a centre
// (the store's location index, the gazetteer).
struct CapBox {
  double lat_lo = -90;  // [lat_lo, lat_hi], within [-90, 90]
  double lat_hi = 90;
  // The cap reaches a pole (or spans the globe): every longitude.
  bool every_longitude = true;
  // Otherwise [lng_lo, lng_hi], which may run past -180 or 180 (the box
  // then crosses the antimeridian and continues on the other side).
  double lng_lo = -180;
  double lng_hi = 180;
};

// The box of the cap of `radius_km` around (lat, lng), widened by
// `margin_degrees` on every side so that rounding never leaves out a point
// an exact distance check would accept. Off the poles the widest longitude
// difference on the cap is asin(sin(r) / cos(lat)), at its tangent points.
CapBox BoundingBoxOfCap(double lat, double lng, double radius_km, double margin_degrees);

}  // namespace herd

#endif  // HERD_COMMON_GEO_H_
