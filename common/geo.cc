#include "common/geo.h"

#include <algorithm>
#include <cmath>

namespace herd {

double HaversineKm(double lat1, double lng1, double lat2, double lng2) {
  const double sin_dlat = std::sin((lat2 - lat1) * kDegToRad / 2);
  const double sin_dlng = std::sin((lng2 - lng1) * kDegToRad / 2);
  const double h = sin_dlat * sin_dlat +
                   std::cos(lat1 * kDegToRad) * std::cos(lat2 * kDegToRad) * sin_dlng * sin_dlng;
  // min(): rounding can push h a hair above 1 for antipodal points.
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
}

CapBox BoundingBoxOfCap(double lat, double lng, double radius_km, double margin_degrees) {
  const double angle = radius_km / kEarthRadiusKm;  // radians
  const double dlat = angle * kRadToDeg + margin_degrees;
  CapBox box;
  box.lat_lo = std::max(-90.0, lat - dlat);
  box.lat_hi = std::min(90.0, lat + dlat);
  if (lat - dlat <= -90 || lat + dlat >= 90) return box;  // holds a pole
  // Off the poles the ratio is below 1; checked anyway against rounding.
  const double ratio = std::sin(angle) / std::cos(lat * kDegToRad);
  if (!(ratio < 1)) return box;
  const double dlng = std::asin(ratio) * kRadToDeg + margin_degrees;
  if (dlng >= 180) return box;
  box.every_longitude = false;
  box.lng_lo = lng - dlng;
  box.lng_hi = lng + dlng;
  return box;
}

}  // namespace herd
