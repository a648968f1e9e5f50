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

}  // namespace herd

#endif  // HERD_COMMON_GEO_H_
