// FenceBook::Set's checks: every rule of herd.v1.Fence, each error naming
// its field.
#include <string>

#include "fences/fence_book.h"
#include "gtest/gtest.h"

namespace herd {
namespace {

FenceBook::Options TestOptions() {
  FenceBook::Options options;
  options.server_name = "Riley";
  options.epoch = 0xabc;
  options.now_ns = [] { return int64_t{1'700'000'000'000'000'000}; };
  return options;
}

v1::Fence Circle(double lat, double lng, double radius_m) {
  v1::Fence fence;
  fence.set_id("f1");
  fence.mutable_circle()->set_latitude(lat);
  fence.mutable_circle()->set_longitude(lng);
  fence.mutable_circle()->set_radius_m(radius_m);
  return fence;
}

const char kSquare[] = R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]})";

// The error Set gives, or "ok".
std::string SetError(const v1::Fence& fence) {
  FenceBook book(TestOptions());
  absl::StatusOr<v1::Fence> set = book.Set(fence);
  if (set.ok()) return "ok";
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(set.status().message());
}

TEST(FenceBookCheckTest, Circle) {
  EXPECT_EQ(SetError(Circle(34, -118, 100)), "ok");
  EXPECT_EQ(SetError(Circle(34, -118, -5)), "fence.circle.radius_m: must be > 0, got -5");
  EXPECT_EQ(SetError(Circle(34, -118, 0)), "fence.circle.radius_m: must be > 0, got 0");
  EXPECT_EQ(SetError(Circle(34, -118, 20'000'000)), "ok");
  EXPECT_EQ(SetError(Circle(34, -118, 20'000'001)),
            "fence.circle.radius_m: must be at most 20000000, got 20000001");
  EXPECT_EQ(SetError(Circle(34, -118, std::nan(""))),
            "fence.circle.radius_m: must be > 0, got nan");
  EXPECT_EQ(SetError(Circle(91, -118, 5)), "fence.circle.latitude: must be in [-90, 90], got 91");
  EXPECT_EQ(SetError(Circle(34, -180.5, 5)),
            "fence.circle.longitude: must be in [-180, 180], got -180.5");
  v1::Fence no_latitude = Circle(34, -118, 5);
  no_latitude.mutable_circle()->clear_latitude();
  EXPECT_EQ(SetError(no_latitude), "fence.circle.latitude: required");
  v1::Fence no_longitude = Circle(34, -118, 5);
  no_longitude.mutable_circle()->clear_longitude();
  EXPECT_EQ(SetError(no_longitude), "fence.circle.longitude: required");
}

TEST(FenceBookCheckTest, IdAndShape) {
  v1::Fence fence = Circle(0, 0, 1);
  fence.set_id("bad id");
  EXPECT_EQ(SetError(fence).find("fence.id: "), 0u);
  fence.set_id("ok");
  fence.clear_circle();
  EXPECT_EQ(SetError(fence), "fence.shape: one of circle, polygon or roaming is required");
}

TEST(FenceBookCheckTest, Polygon) {
  v1::Fence fence;
  fence.set_id("p");
  fence.mutable_polygon()->set_geojson(kSquare);
  EXPECT_EQ(SetError(fence), "ok");
  fence.mutable_polygon()->set_geojson(
      R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]})");
  EXPECT_EQ(SetError(fence),
            "fence.polygon.geojson: coordinates[0]: open ring: its last position must repeat "
            "its first");
}

TEST(FenceBookCheckTest, Roaming) {
  v1::Fence fence;
  fence.set_id("r");
  fence.mutable_roaming()->set_radius_m(50'000);
  EXPECT_EQ(SetError(fence), "ok");
  fence.mutable_roaming()->set_radius_m(50'001);
  EXPECT_EQ(SetError(fence), "fence.roaming.radius_m: must be at most 50000, got 50001");
  fence.mutable_roaming()->set_radius_m(-1);
  EXPECT_EQ(SetError(fence), "fence.roaming.radius_m: must be > 0, got -1");
  fence.mutable_roaming()->set_radius_m(10);
  fence.mutable_roaming()->set_nearby_pattern(std::string(257, '*'));
  EXPECT_EQ(SetError(fence).find("fence.roaming.nearby_pattern: "), 0u);
  fence.mutable_roaming()->set_nearby_pattern("a b");
  EXPECT_EQ(SetError(fence).find("fence.roaming.nearby_pattern: "), 0u);
  fence.mutable_roaming()->set_nearby_pattern("medic-*");
  fence.add_detect(v1::FenceEvent::CROSS);
  EXPECT_EQ(SetError(fence),
            "fence.detect: CROSS is not supported for roaming fences (they move with clients)");
}

TEST(FenceBookCheckTest, Detect) {
  v1::Fence fence = Circle(0, 0, 1);
  for (int kind = v1::FenceEvent::ENTER; kind <= v1::FenceEvent::CROSS; ++kind) {
    fence.add_detect(static_cast<v1::FenceEvent::Kind>(kind));
  }
  EXPECT_EQ(SetError(fence), "ok");
  fence.add_detect(static_cast<v1::FenceEvent::Kind>(9));
  EXPECT_EQ(SetError(fence), "fence.detect: unknown kind 9");
  fence.clear_detect();
  fence.add_detect(v1::FenceEvent::KIND_UNSPECIFIED);
  EXPECT_EQ(SetError(fence), "fence.detect: unknown kind 0");
}

TEST(FenceBookCheckTest, ClientPatternAndWebhook) {
  v1::Fence fence = Circle(0, 0, 1);
  fence.set_client_pattern(std::string(257, 'a'));
  EXPECT_EQ(SetError(fence).find("fence.client_pattern: "), 0u);
  fence.set_client_pattern("truck-??*");
  EXPECT_EQ(SetError(fence), "ok");
  for (const char* good :
       {"http://example.com", "https://hooks.example.com:8443/fence?x=1", "HTTPS://user@host/"}) {
    fence.set_webhook_url(good);
    EXPECT_EQ(SetError(fence), "ok") << good;
  }
  for (const char* bad : {"ftp://example.com", "http://", "https:///path", "http://:80/",
                          "example.com", "http://exa mple.com"}) {
    fence.set_webhook_url(bad);
    EXPECT_EQ(SetError(fence), "fence.webhook_url: must be an http:// or https:// URL") << bad;
  }
  fence.set_webhook_url("http://h/" + std::string(2048, 'a'));
  EXPECT_EQ(SetError(fence).find("fence.webhook_url: at most 2048 bytes"), 0u);
}

TEST(FenceBookCheckTest, ApplyDropsInvalidFences) {
  FenceBook book(TestOptions());
  v1::Fence fence = Circle(34, -118, -5);
  fence.mutable_version()->set_time_ns(1);
  fence.mutable_version()->set_origin("Bailey");
  EXPECT_EQ(book.Apply(fence), FenceBook::Outcome::kInvalid);
  fence.mutable_circle()->set_radius_m(5);
  EXPECT_EQ(book.Apply(fence), FenceBook::Outcome::kAccepted);
  EXPECT_EQ(book.size(), 1u);
  // A repeat is stale before it is checked (no compiling); a newer invalid
  // one is dropped.
  EXPECT_EQ(book.Apply(fence), FenceBook::Outcome::kStale);
  v1::Fence stale_and_invalid = fence;
  stale_and_invalid.mutable_circle()->set_radius_m(-1);
  EXPECT_EQ(book.Apply(stale_and_invalid), FenceBook::Outcome::kStale);
  fence.mutable_version()->set_time_ns(2);
  fence.mutable_circle()->set_radius_m(-1);
  EXPECT_EQ(book.Apply(fence), FenceBook::Outcome::kInvalid);
  ASSERT_TRUE(book.Get("f1").has_value());
  EXPECT_EQ(book.Get("f1")->circle().radius_m(), 5);
}

}  // namespace
}  // namespace herd
