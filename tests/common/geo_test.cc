#include "common/geo.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

namespace herd {
namespace {

TEST(HaversineTest, KnownDistances) {
  EXPECT_EQ(HaversineKm(34, -118, 34, -118), 0);
  // A degree of latitude on the mean sphere.
  EXPECT_NEAR(HaversineKm(0, 0, 1, 0), 111.19508, 1e-5);
  // Across the antimeridian: 0.2 degrees of longitude at the equator.
  EXPECT_NEAR(HaversineKm(0, 179.9, 0, -179.9), 22.23902, 1e-5);
  // Antipodes: half the circumference.
  EXPECT_NEAR(HaversineKm(90, 0, -90, 0), std::numbers::pi * 6371.0088, 1e-6);
}

// Whether (lat, lng) lies in `box`, the longitude compared modulo 360.
bool InBox(const CapBox& box, double lat, double lng) {
  if (lat < box.lat_lo || lat > box.lat_hi) return false;
  if (box.every_longitude) return true;
  for (double shift : {-360.0, 0.0, 360.0}) {
    if (lng + shift >= box.lng_lo && lng + shift <= box.lng_hi) return true;
  }
  return false;
}

// Brute force: points spread around many centres (the poles, the
// antimeridian, everywhere between); each within the radius by the
// haversine must lie in the box.
TEST(BoundingBoxOfCapTest, HoldsEveryPointOfTheCap) {
  std::mt19937 random(42);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<std::pair<double, double>> centres = {
      {90, 0}, {-90, 0}, {89.9, 179.9}, {0, 180}, {0, -180}, {45, 179.99}, {-60, -179.95}};
  for (int i = 0; i < 200; ++i)
    centres.emplace_back(unit(random) * 180 - 90, unit(random) * 360 - 180);
  size_t inside = 0;
  for (const auto& [lat, lng] : centres) {
    for (double radius_km : {0.5, 10.0, 50.0, 500.0}) {
      const CapBox box = BoundingBoxOfCap(lat, lng, radius_km, 1e-9);
      const double reach = radius_km / kEarthRadiusKm * kRadToDeg * 1.5;
      for (int k = 0; k < 400; ++k) {
        const double plat = std::clamp(lat + (unit(random) * 2 - 1) * reach, -90.0, 90.0);
        const double plng = lng + (unit(random) * 2 - 1) * std::min(180.0, reach * 60);
        if (HaversineKm(lat, lng, plat, plng) > radius_km) continue;
        ++inside;
        ASSERT_TRUE(InBox(box, plat, plng)) << "centre " << lat << "," << lng << " r " << radius_km
                                            << " point " << plat << "," << plng;
      }
    }
  }
  EXPECT_GT(inside, 10000u);  // the oracle saw points to check
}

TEST(BoundingBoxOfCapTest, PolesAndTheAntimeridian) {
  // A cap holding a pole spans every longitude.
  EXPECT_TRUE(BoundingBoxOfCap(89.99, 10, 5, 0).every_longitude);
  EXPECT_EQ(BoundingBoxOfCap(89.99, 10, 5, 0).lat_hi, 90);
  // A cap across the antimeridian runs past 180.
  const CapBox box = BoundingBoxOfCap(0, 179.99, 10, 0);
  EXPECT_FALSE(box.every_longitude);
  EXPECT_GT(box.lng_hi, 180);
  EXPECT_LT(box.lng_lo, 179.99);
}

}  // namespace
}  // namespace herd
