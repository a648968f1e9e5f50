#include "common/geo.h"

#include <gtest/gtest.h>

#include <numbers>

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

}  // namespace
}  // namespace herd
