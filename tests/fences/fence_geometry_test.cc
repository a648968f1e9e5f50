#include "fences/fence_geometry.h"

#include <random>
#include <string>
#include <vector>

#include "common/geo.h"
#include "gtest/gtest.h"
#include "tests/fences/sphere_oracle.h"

namespace herd {
namespace {

using testing::Degrees;
using testing::Vec;

std::unique_ptr<S2Polygon> MustParse(const std::string& geojson) {
  absl::StatusOr<std::unique_ptr<S2Polygon>> polygon = PolygonFromGeoJson(geojson, "g");
  EXPECT_TRUE(polygon.ok()) << polygon.status() << " for " << geojson;
  if (!polygon.ok()) return nullptr;
  (*polygon)->index().ForceBuild();
  return *std::move(polygon);
}

std::string ErrorOf(const std::string& geojson) {
  absl::StatusOr<std::unique_ptr<S2Polygon>> polygon =
      PolygonFromGeoJson(geojson, "fence.polygon.geojson");
  if (polygon.ok()) return "ok";
  EXPECT_EQ(polygon.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(polygon.status().message());
}

bool Contains(const S2Polygon& polygon, double lat, double lng) {
  return polygon.Contains(PointFromDegrees(lat, lng));
}

// A random point around a centre (tangent-plane radius `reach`), in degrees.
Degrees PointNear(std::mt19937& random, Vec centre, double reach) {
  std::uniform_real_distribution<double> coordinate(-reach, reach);
  const testing::Plane plane(centre);
  return testing::ToDegrees(plane.Unproject(coordinate(random), coordinate(random)));
}

// Random star-shaped polygons, convex-ish and concave, anywhere on the
// sphere (near the poles and across the antimeridian too), against the
// gnomonic oracle; both ring orientations must give the same polygon.
void CheckRandomPolygons(double jitter, uint32_t seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> lat(-90, 90), lng(-180, 180), size(0.0005, 0.3);
  std::uniform_int_distribution<int> vertex_count(3, 20);
  int checked = 0, inside = 0;
  for (int p = 0; p < 150; ++p) {
    const Vec centre = testing::FromDegrees(lat(random), lng(random));
    const double radius = size(random);
    const std::vector<std::vector<Degrees>> rings = {
        testing::StarRing(random, centre, radius, vertex_count(random), jitter)};
    const auto forward = MustParse(testing::PolygonJson(rings));
    const auto backward = MustParse(testing::PolygonJson(rings, /*reversed=*/true));
    ASSERT_NE(forward, nullptr);
    ASSERT_NE(backward, nullptr);
    for (int i = 0; i < 200; ++i) {
      const Degrees point = PointNear(random, centre, radius * 1.3);
      bool sure;
      const bool expected = testing::OracleContains(
          rings, centre, testing::FromDegrees(point.lat, point.lng), &sure, radius * 1e-7);
      if (!sure) continue;
      ++checked;
      inside += expected;
      ASSERT_EQ(Contains(*forward, point.lat, point.lng), expected)
          << "polygon " << testing::PolygonJson(rings) << " point " << point.lat << ","
          << point.lng;
      ASSERT_EQ(Contains(*backward, point.lat, point.lng), expected);
    }
  }
  // The sample must exercise both answers.
  EXPECT_GT(inside, checked / 10);
  EXPECT_LT(inside, checked * 9 / 10);
}

TEST(FenceGeometryTest, ConvexishPolygonsAgreeWithOracle) { CheckRandomPolygons(0.1, 1); }

TEST(FenceGeometryTest, ConcavePolygonsAgreeWithOracle) { CheckRandomPolygons(0.85, 2); }

TEST(FenceGeometryTest, PolygonAcrossTheAntimeridian) {
  const auto polygon = MustParse(
      R"({"type":"Polygon","coordinates":[[[179,-1],[-179,-1],[-179,1],[179,1],[179,-1]]]})");
  ASSERT_NE(polygon, nullptr);
  EXPECT_TRUE(Contains(*polygon, 0, 180));
  EXPECT_TRUE(Contains(*polygon, 0, -180));
  EXPECT_TRUE(Contains(*polygon, 0.5, -179.5));
  EXPECT_TRUE(Contains(*polygon, -0.5, 179.5));
  EXPECT_FALSE(Contains(*polygon, 0, 0));  // not the long way round
  EXPECT_FALSE(Contains(*polygon, 0, 178.9));
  EXPECT_FALSE(Contains(*polygon, 0, -178.9));
}

TEST(FenceGeometryTest, PolygonAroundAPole) {
  const auto polygon =
      MustParse(R"({"type":"Polygon","coordinates":[[[0,80],[90,80],[180,80],[-90,80],[0,80]]]})");
  ASSERT_NE(polygon, nullptr);
  EXPECT_TRUE(Contains(*polygon, 90, 0));
  EXPECT_TRUE(Contains(*polygon, 85, 45));
  EXPECT_TRUE(Contains(*polygon, 85, -135));
  EXPECT_FALSE(Contains(*polygon, 75, 45));
  EXPECT_FALSE(Contains(*polygon, -90, 0));
}

TEST(FenceGeometryTest, HolesAreOutsideWhateverTheOrientation) {
  for (bool reversed : {false, true}) {
    const std::vector<std::vector<Degrees>> rings = {
        {{0, 0}, {0, 10}, {10, 10}, {10, 0}},  // {lat, lng}
        {{4, 4}, {6, 4}, {6, 6}, {4, 6}}};
    const auto polygon = MustParse(testing::PolygonJson(rings, reversed));
    ASSERT_NE(polygon, nullptr);
    EXPECT_FALSE(Contains(*polygon, 5, 5));
    EXPECT_TRUE(Contains(*polygon, 2, 2));
    EXPECT_TRUE(Contains(*polygon, 8, 5));
    EXPECT_FALSE(Contains(*polygon, 12, 5));
  }
}

TEST(FenceGeometryTest, AltitudeAndRepeatedPositionsAreAccepted) {
  const auto polygon = MustParse(
      R"({"type":"Polygon","coordinates":[[[0,0,5],[1,0,5],[1,0],[1,1],[0,1],[0,0,7]]]})");
  ASSERT_NE(polygon, nullptr);
  EXPECT_TRUE(Contains(*polygon, 0.5, 0.5));
  EXPECT_EQ(polygon->num_vertices(), 4);
}

TEST(FenceGeometryTest, RejectsWhatIsNotAPolygon) {
  EXPECT_EQ(ErrorOf("{"), "fence.polygon.geojson: not valid JSON");
  EXPECT_EQ(ErrorOf(R"({"type":"Point","coordinates":[0,0]})")
                .find("fence.polygon.geojson: must "
                      "be a GeoJSON Polygon"),
            0u);
  EXPECT_NE(ErrorOf(R"({"type":"Polygon","coordinates":[]})"), "ok");
  EXPECT_NE(ErrorOf(R"([1,2])"), "ok");
  EXPECT_EQ(ErrorOf(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]})"),
            "fence.polygon.geojson: coordinates[0]: a ring has at least 4 positions (closed), "
            "got 3");
  EXPECT_EQ(ErrorOf(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]})"),
            "fence.polygon.geojson: coordinates[0]: open ring: its last position must repeat "
            "its first");
  EXPECT_EQ(ErrorOf(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,91],[0,0]]]})"),
            "fence.polygon.geojson: coordinates[0][2]: latitude must be in [-90, 90], got 91");
  EXPECT_EQ(ErrorOf(R"({"type":"Polygon","coordinates":[[[0,0],[181,0],[1,1],[0,0]]]})"),
            "fence.polygon.geojson: coordinates[0][1]: longitude must be in [-180, 180], got 181");
  EXPECT_EQ(ErrorOf(R"({"type":"Polygon","coordinates":[[[0,0],["1",0],[1,1],[0,0]]]})"),
            "fence.polygon.geojson: coordinates[0][1]: a position is [longitude, latitude] in "
            "numbers");
  EXPECT_EQ(ErrorOf(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,0],[0,0]]]})"),
            "fence.polygon.geojson: coordinates[0]: a ring needs at least 3 distinct positions");
}

TEST(FenceGeometryTest, RingsWithoutAreaAreRejected) {
  // Back along itself, and a sliver of 1e-12 degrees: neither bounds a
  // region anyone means, and S2 could take either as (almost) the sphere.
  for (const char* geojson :
       {R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[2,0],[0,0]]]})",
        R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1e-12],[0,0]]]})"}) {
    EXPECT_EQ(ErrorOf(geojson),
              "fence.polygon.geojson: coordinates[0]: a ring must enclose at least 1 square "
              "metre");
  }
  // The equator bounds a hemisphere: taken as one (either side is as small).
  const auto equator =
      MustParse(R"({"type":"Polygon","coordinates":[[[0,0],[90,0],[180,0],[-90,0],[0,0]]]})");
  ASSERT_NE(equator, nullptr);
  EXPECT_NE(Contains(*equator, 45, 45), Contains(*equator, -45, -45));
}

TEST(FenceGeometryTest, RejectsSelfIntersectingRings) {
  const std::string bowtie =
      ErrorOf(R"({"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]})");
  EXPECT_EQ(bowtie.find("fence.polygon.geojson: coordinates[0]: not a simple ring"), 0u) << bowtie;
}

TEST(FenceGeometryTest, RejectsRingsThatCrossOrHolesOutside) {
  const std::string crossing = ErrorOf(
      R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],
          [[5,5],[15,5],[15,6],[5,6],[5,5]]]})");
  EXPECT_EQ(crossing.find("fence.polygon.geojson: "), 0u) << crossing;
  EXPECT_NE(crossing, "ok");
  EXPECT_EQ(ErrorOf(R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],
          [[20,20],[21,20],[21,21],[20,21],[20,20]]]})"),
            "fence.polygon.geojson: coordinates[1]: a hole must lie inside the outer ring "
            "(coordinates[0])");
  EXPECT_EQ(ErrorOf(R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],
          [[2,2],[8,2],[8,8],[2,8],[2,2]], [[4,4],[6,4],[6,6],[4,6],[4,4]]]})"),
            "fence.polygon.geojson: coordinates[2]: a hole must not lie inside another hole "
            "(coordinates[1])");
}

// Untrusted input never crashes the process: random rings (mostly
// self-crossing), holes anywhere, a hole equal to the shell, antipodes.
TEST(FenceGeometryTest, RandomRingsAreAcceptedOrRejectedNeverCrash) {
  std::mt19937 random(5);
  std::uniform_real_distribution<double> coordinate(-1, 1);
  std::uniform_int_distribution<int> count(3, 8), holes(0, 2);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<std::vector<Degrees>> rings;
    const int ring_count = 1 + holes(random);
    for (int r = 0; r < ring_count; ++r) {
      std::vector<Degrees> ring;
      const int n = count(random);
      for (int v = 0; v < n; ++v) ring.push_back({coordinate(random), coordinate(random)});
      if (i % 7 == 0) ring[0] = {-ring[1].lat, ring[1].lng + (ring[1].lng > 0 ? -180 : 180)};
      rings.push_back(ring);
    }
    if (i % 5 == 0) rings.push_back(rings[0]);
    absl::StatusOr<std::unique_ptr<S2Polygon>> polygon =
        PolygonFromGeoJson(testing::PolygonJson(rings), "g");
    if (!polygon.ok()) {
      ASSERT_EQ(polygon.status().code(), absl::StatusCode::kInvalidArgument);
      ++rejected;
      continue;
    }
    ++accepted;
    (*polygon)->index().ForceBuild();
    (*polygon)->Contains(PointFromDegrees(coordinate(random), coordinate(random)));
  }
  EXPECT_GT(accepted, 50);
  EXPECT_GT(rejected, 50);
}

TEST(FenceGeometryTest, CapsSizeAndVertices) {
  std::string ring = "[";
  for (int i = 0; i <= 10000; ++i) ring += (i ? "," : "") + std::string("[0,0]");
  const std::string too_many = ErrorOf(R"({"type":"Polygon","coordinates":[)" + ring + "]]}");
  EXPECT_EQ(too_many,
            "fence.polygon.geojson: coordinates[0]: a polygon has at most 10000 positions");
  const std::string huge(kMaxGeoJsonBytes + 1, ' ');
  EXPECT_EQ(ErrorOf(huge).find("fence.polygon.geojson: at most 1048576 bytes"), 0u);
  // Deep nesting is refused, not a crash.
  EXPECT_NE(ErrorOf(std::string(500000, '[') + std::string(500000, ']')), "ok");
}

TEST(FenceGeometryTest, CirclesAgreeWithHaversine) {
  std::mt19937 random(3);
  std::uniform_real_distribution<double> lat(-90, 90), lng(-180, 180), offset(-2, 2);
  std::uniform_real_distribution<double> log_radius(0, 7.3);  // 1 m to 20,000 km
  int inside = 0, checked = 0;
  for (int c = 0; c < 300; ++c) {
    const double clat = lat(random), clng = lng(random);
    const double radius_m = std::pow(10, log_radius(random));
    const S2Cap cap = CapFromCircle(clat, clng, radius_m);
    for (int i = 0; i < 100; ++i) {
      // Near the centre at the circle's scale, or anywhere.
      double plat = clat + offset(random) * radius_m / 111'000;
      double plng = clng + offset(random) * radius_m / 111'000;
      if (i % 4 == 0 || std::abs(plat) > 90 || std::abs(plng) > 180) {
        plat = lat(random);
        plng = lng(random);
      }
      const double distance_m = HaversineKm(clat, clng, plat, plng) * 1000;
      if (std::abs(distance_m - radius_m) < 1e-6 * radius_m + 1e-3) continue;
      ++checked;
      inside += distance_m <= radius_m;
      ASSERT_EQ(cap.Contains(PointFromDegrees(plat, plng)), distance_m <= radius_m)
          << clat << "," << clng << " r " << radius_m << " p " << plat << "," << plng;
    }
  }
  EXPECT_GT(inside, checked / 5);
}

}  // namespace
}  // namespace herd
