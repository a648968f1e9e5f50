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

}  // namespace herd
