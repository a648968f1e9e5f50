// FenceBook::Detect: event sequences on circles, polygons and roaming
// fences, the client filter, event fields and order, the index kept right
// through newer-wins changes, and the index against brute force.
#include <atomic>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/geo.h"
#include "fences/compiled_fence.h"
#include "fences/fence_book.h"
#include "fences/fence_geometry.h"
#include "gtest/gtest.h"
#include "tests/fences/sphere_oracle.h"

namespace herd {
namespace {

using Kind = v1::FenceEvent::Kind;
constexpr Kind kEnter = v1::FenceEvent::ENTER;
constexpr Kind kExit = v1::FenceEvent::EXIT;
constexpr Kind kInside = v1::FenceEvent::INSIDE;
constexpr Kind kOutside = v1::FenceEvent::OUTSIDE;
constexpr Kind kCross = v1::FenceEvent::CROSS;

constexpr int64_t kNow = 1'700'000'000'123'456'789;

FenceBook::Options TestOptions() {
  FenceBook::Options options;
  options.server_name = "Riley";
  options.epoch = 0xabc;
  options.now_ns = [] { return kNow; };
  return options;
}

v1::Fence Circle(std::string id, double lat, double lng, double radius_m,
                 std::vector<Kind> detect = {}) {
  v1::Fence fence;
  fence.set_id(std::move(id));
  fence.mutable_circle()->set_latitude(lat);
  fence.mutable_circle()->set_longitude(lng);
  fence.mutable_circle()->set_radius_m(radius_m);
  for (Kind kind : detect) fence.add_detect(kind);
  return fence;
}

// The square [lat0, lat0 + size] x [lng0, lng0 + size] in degrees.
v1::Fence Square(std::string id, double lat0, double lng0, double size,
                 std::vector<Kind> detect = {}) {
  v1::Fence fence;
  fence.set_id(std::move(id));
  char json[300];
  std::snprintf(json, sizeof json,
                R"({"type":"Polygon","coordinates":[[[%.9f,%.9f],[%.9f,%.9f],[%.9f,%.9f],)"
                R"([%.9f,%.9f],[%.9f,%.9f]]]})",
                lng0, lat0, lng0 + size, lat0, lng0 + size, lat0 + size, lng0, lat0 + size, lng0,
                lat0);
  fence.mutable_polygon()->set_geojson(json);
  for (Kind kind : detect) fence.add_detect(kind);
  return fence;
}

v1::Fence Roaming(std::string id, std::string nearby_pattern, double radius_m,
                  std::vector<Kind> detect = {}) {
  v1::Fence fence;
  fence.set_id(std::move(id));
  fence.mutable_roaming()->set_nearby_pattern(std::move(nearby_pattern));
  fence.mutable_roaming()->set_radius_m(radius_m);
  for (Kind kind : detect) fence.add_detect(kind);
  return fence;
}

Record At(std::string client, double lat, double lng, std::string time = "1621464827.959498503") {
  char location[64];
  std::snprintf(location, sizeof location, "%+.6f%+.6f", lat, lng);
  return Record{std::move(client), "Riley", "+0.263873386", location, std::move(time)};
}

// A client moving: each Move reports a new position and returns the events
// (as "fence:KIND" strings, in order).
class Walker {
 public:
  Walker(const FenceBook* book, std::string client, FenceBook::NearbyLookup nearby = nullptr)
      : book_(book), client_(std::move(client)), nearby_(std::move(nearby)) {}

  std::vector<std::string> Move(double lat, double lng) {
    const Record now = At(client_, lat, lng);
    const RecordView now_view = now.view();
    RecordView before_view;
    if (before_) before_view = before_->view();
    fired_.clear();
    book_->Detect(now_view, before_ ? &before_view : nullptr, nearby_, &fired_);
    before_ = now;
    std::vector<std::string> names;
    for (const FiredEvent& fired : fired_) {
      names.push_back(fired.event.fence_id() + ":" + v1::FenceEvent::Kind_Name(fired.event.kind()));
    }
    return names;
  }
  const std::vector<FiredEvent>& fired() const { return fired_; }

 private:
  const FenceBook* book_;
  std::string client_;
  FenceBook::NearbyLookup nearby_;
  std::optional<Record> before_;
  std::vector<FiredEvent> fired_;
};

using Names = std::vector<std::string>;

void MustSet(FenceBook* book, const v1::Fence& fence) {
  absl::StatusOr<v1::Fence> set = book->Set(fence);
  ASSERT_TRUE(set.ok()) << set.status();
}

TEST(FenceBookDetectTest, NoFencesNoEvents) {
  FenceBook book(TestOptions());
  EXPECT_FALSE(book.has_fences());
  Walker walker(&book, "kiwi");
  EXPECT_EQ(walker.Move(34, -118), Names{});
}

TEST(FenceBookDetectTest, CircleEnterInsideExitOutside) {
  FenceBook book(TestOptions());
  MustSet(&book, Circle("c", 34, -118, 1000, {kEnter, kExit, kInside, kOutside}));
  EXPECT_TRUE(book.has_fences());
  Walker walker(&book, "kiwi");
  EXPECT_EQ(walker.Move(34.02, -118), Names{"c:OUTSIDE"});               // ~2.2 km north
  EXPECT_EQ(walker.Move(34.005, -118), (Names{"c:ENTER", "c:INSIDE"}));  // ~560 m
  EXPECT_EQ(walker.Move(34, -118.005), Names{"c:INSIDE"});
  EXPECT_EQ(walker.Move(34, -118.02), (Names{"c:EXIT", "c:OUTSIDE"}));
  EXPECT_EQ(walker.Move(34, -118.03), Names{"c:OUTSIDE"});
}

TEST(FenceBookDetectTest, DefaultIsEnterAndExitAndANewClientWasOutside) {
  FenceBook book(TestOptions());
  MustSet(&book, Circle("c", 34, -118, 1000));
  Walker walker(&book, "kiwi");
  EXPECT_EQ(walker.Move(34, -118), Names{"c:ENTER"});  // first report, inside
  EXPECT_EQ(walker.Move(34.001, -118), Names{});
  EXPECT_EQ(walker.Move(34.001, -118), Names{});  // not moving
  EXPECT_EQ(walker.Move(35, -118), Names{"c:EXIT"});
  EXPECT_EQ(walker.Move(36, -118), Names{});
}

TEST(FenceBookDetectTest, CircleUsesGreatCircleMetres) {
  FenceBook book(TestOptions());
  MustSet(&book, Circle("c", 60, 10, 5000, {kInside}));
  // Along a parallel at 60°N a degree of longitude is ~55.6 km.
  const double inside_lng = 10 + 4900.0 / (HaversineKm(60, 10, 60, 11) * 1000);
  const double outside_lng = 10 + 5100.0 / (HaversineKm(60, 10, 60, 11) * 1000);
  EXPECT_EQ(Walker(&book, "a").Move(60, inside_lng), Names{"c:INSIDE"});
  EXPECT_EQ(Walker(&book, "b").Move(60, outside_lng), Names{});
}

TEST(FenceBookDetectTest, CirclesFromAMetreToMostOfTheEarth) {
  FenceBook book(TestOptions());
  MustSet(&book, Circle("huge", 0, 0, 20'000'000, {kInside}));
  MustSet(&book, Circle("tiny", 45, 45, 1, {kInside}));
  EXPECT_EQ(Walker(&book, "a").Move(0, 0), Names{"huge:INSIDE"});
  EXPECT_EQ(Walker(&book, "b").Move(0, 179), Names{"huge:INSIDE"});  // ~19,900 km
  EXPECT_EQ(Walker(&book, "c").Move(0, 180), Names{});               // ~20,015 km
  EXPECT_EQ(Walker(&book, "d").Move(-89, 0), Names{"huge:INSIDE"});
  EXPECT_EQ(Walker(&book, "e").Move(45.000005, 45), (Names{"huge:INSIDE", "tiny:INSIDE"}));
  EXPECT_EQ(Walker(&book, "f").Move(45.00002, 45), Names{"huge:INSIDE"});  // ~2 m
}

TEST(FenceBookDetectTest, PolygonEnterExitAndHoles) {
  FenceBook book(TestOptions());
  v1::Fence fence;
  fence.set_id("p");
  fence.mutable_polygon()->set_geojson(
      R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],
          [[4,4],[6,4],[6,6],[4,6],[4,4]]]})");
  MustSet(&book, fence);
  Walker walker(&book, "kiwi");
  EXPECT_EQ(walker.Move(-1, 2), Names{});
  EXPECT_EQ(walker.Move(2, 2), Names{"p:ENTER"});
  EXPECT_EQ(walker.Move(5, 5), Names{"p:EXIT"});  // into the hole
  EXPECT_EQ(walker.Move(8, 8), Names{"p:ENTER"});
  EXPECT_EQ(walker.Move(8, 11), Names{"p:EXIT"});
}

TEST(FenceBookDetectTest, CrossOnPolygonAndCircle) {
  FenceBook book(TestOptions());
  MustSet(&book, Square("square", 10, 10, 1, {kCross}));
  MustSet(&book, Circle("circle", 10.5, 20.5, 20'000, {kCross}));
  Walker walker(&book, "kiwi");
  EXPECT_EQ(walker.Move(10.5, 9), Names{});
  EXPECT_EQ(walker.Move(10.5, 12), Names{"square:CROSS"});  // straight through
  EXPECT_EQ(walker.Move(12, 12), Names{});                  // beside it
  EXPECT_EQ(walker.Move(12, 9), Names{});                   // passing north of it
  EXPECT_EQ(walker.Move(10.5, 9), Names{});
  // One report jumping far across both: each is crossed.
  EXPECT_EQ(walker.Move(10.5, 25), (Names{"circle:CROSS", "square:CROSS"}));
  // Into the circle is not a crossing.
  EXPECT_EQ(walker.Move(10.5, 20.5), Names{});
  // Passing 10 km from the centre of a 20 km circle is; 30 km is not.
  EXPECT_EQ(walker.Move(20, 0), Names{});
  Walker near(&book, "near");
  const double ten_km = 10.0 / 111.2;
  EXPECT_EQ(near.Move(10.5 + ten_km, 19), Names{});
  EXPECT_EQ(near.Move(10.5 + ten_km, 22), Names{"circle:CROSS"});
  Walker far(&book, "far");
  EXPECT_EQ(far.Move(10.5 + 3 * ten_km, 19), Names{});
  EXPECT_EQ(far.Move(10.5 + 3 * ten_km, 22), Names{});
}

TEST(FenceBookDetectTest, ClientPatternFilters) {
  FenceBook book(TestOptions());
  v1::Fence fence = Circle("c", 0, 0, 1000);
  fence.set_client_pattern("truck-??");
  MustSet(&book, fence);
  EXPECT_EQ(Walker(&book, "truck-07").Move(0, 0), Names{"c:ENTER"});
  EXPECT_EQ(Walker(&book, "truck-7").Move(0, 0), Names{});
  EXPECT_EQ(Walker(&book, "car-07").Move(0, 0), Names{});
}

TEST(FenceBookDetectTest, EventFields) {
  FenceBook book(TestOptions());
  v1::Fence fence = Circle("zoo", 34, -118, 1000);
  fence.set_webhook_url("https://hooks.example.com/f");
  MustSet(&book, fence);
  Walker walker(&book, "kiwi.cs.ucla.edu");
  EXPECT_EQ(walker.Move(35, -118), Names{});
  ASSERT_EQ(walker.Move(34.000001, -118.000002), Names{"zoo:ENTER"});
  const FiredEvent& fired = walker.fired().front();
  EXPECT_EQ(fired.webhook_url, "https://hooks.example.com/f");
  const v1::FenceEvent& event = fired.event;
  EXPECT_EQ(event.id(), "Riley-0000000000000abc-1");
  EXPECT_EQ(event.fence_id(), "zoo");
  EXPECT_EQ(event.kind(), kEnter);
  EXPECT_EQ(event.server(), "Riley");
  EXPECT_EQ(event.fired_at().seconds(), 1'700'000'000);
  EXPECT_EQ(event.fired_at().nanos(), 123'456'789);
  EXPECT_EQ(event.location().record().client_id(), "kiwi.cs.ucla.edu");
  EXPECT_EQ(event.location().record().location(), "+34.000001-118.000002");
  EXPECT_EQ(event.location().record().origin(), "Riley");
  EXPECT_DOUBLE_EQ(event.location().latitude(), 34.000001);
  EXPECT_DOUBLE_EQ(event.location().longitude(), -118.000002);
  EXPECT_EQ(event.location().at_line(),
            "AT Riley +0.263873386 kiwi.cs.ucla.edu +34.000001-118.000002 1621464827.959498503");
  ASSERT_TRUE(event.has_previous());
  EXPECT_EQ(event.previous().record().location(), "+35.000000-118.000000");
  EXPECT_DOUBLE_EQ(event.previous().latitude(), 35);
  EXPECT_EQ(event.nearby_client_id(), "");
  // A new client's event has no previous; numbers keep counting.
  ASSERT_EQ(Walker(&book, "new").Move(34, -118), Names{"zoo:ENTER"});
  EXPECT_EQ(book.List("", 10).size(), 1u);
}

TEST(FenceBookDetectTest, EventIdsCountUpAndNoPreviousForANewClient) {
  FenceBook book(TestOptions());
  MustSet(&book, Circle("c", 0, 0, 1000, {kInside}));
  Walker walker(&book, "a");
  ASSERT_EQ(walker.Move(0, 0), Names{"c:INSIDE"});
  EXPECT_FALSE(walker.fired()[0].event.has_previous());
  EXPECT_EQ(walker.fired()[0].event.id(), "Riley-0000000000000abc-1");
  ASSERT_EQ(walker.Move(0, 0), Names{"c:INSIDE"});
  EXPECT_EQ(walker.fired()[0].event.id(), "Riley-0000000000000abc-2");
}

TEST(FenceBookDetectTest, EventsAreOrderedByFenceThenKind) {
  FenceBook book(TestOptions());
  MustSet(&book, Roaming("a-roaming", "", 100, {kOutside}));
  MustSet(&book, Circle("b", 0, 0, 1000, {kInside, kEnter}));
  MustSet(&book, Square("a", -1, -1, 2, {kInside, kEnter}));
  MustSet(&book, Circle("c", 50, 50, 1000, {kOutside}));
  EXPECT_EQ(Walker(&book, "x").Move(0, 0), (Names{"a:ENTER", "a:INSIDE", "a-roaming:OUTSIDE",
                                                  "b:ENTER", "b:INSIDE", "c:OUTSIDE"}));
}

// Clients of a fake herd, found by brute force.
class FakeHerd {
 public:
  void Put(const std::string& client, double lat, double lng) { where_[client] = {lat, lng}; }
  FenceBook::NearbyLookup Lookup() {
    return [this](LatLng centre, double radius_m, FenceBook::NearbyVisitor visit) {
      ++lookups_;
      for (const auto& [client, at] : where_) {
        if (HaversineKm(centre.latitude, centre.longitude, at.latitude, at.longitude) * 1000 >
            radius_m) {
          continue;
        }
        if (!visit(client, at)) return;
      }
    };
  }
  int lookups() const { return lookups_; }

 private:
  std::map<std::string, LatLng> where_;
  int lookups_ = 0;
};

TEST(FenceBookDetectTest, RoamingEnterInsideExitWithNearestClient) {
  FenceBook book(TestOptions());
  MustSet(&book, Roaming("medics", "medic-*", 1000, {kEnter, kExit, kInside}));
  FakeHerd herd;
  herd.Put("medic-far", 0, 0.008);    // ~890 m east of the origin
  herd.Put("medic-near", 0, -0.005);  // ~560 m west
  herd.Put("truck-1", 0, 0.001);      // near, but not a medic
  Walker walker(&book, "medic-self", herd.Lookup());
  herd.Put("medic-self", 1, 1);  // itself never counts
  EXPECT_EQ(walker.Move(1, 1), Names{});
  ASSERT_EQ(walker.Move(0, 0), (Names{"medics:ENTER", "medics:INSIDE"}));
  EXPECT_EQ(walker.fired()[0].event.nearby_client_id(), "medic-near");
  EXPECT_EQ(walker.fired()[1].event.nearby_client_id(), "medic-near");
  ASSERT_EQ(walker.Move(0, 0.012), (Names{"medics:INSIDE"}));  // ~450 m from medic-far
  EXPECT_EQ(walker.fired()[0].event.nearby_client_id(), "medic-far");
  ASSERT_EQ(walker.Move(0, 0.03), (Names{"medics:EXIT"}));
  EXPECT_EQ(walker.fired()[0].event.nearby_client_id(), "medic-far");  // the last one near
  EXPECT_EQ(walker.Move(0, 0.04), Names{});
  EXPECT_GT(herd.lookups(), 0);
}

TEST(FenceBookDetectTest, RoamingVisitsAtMostTheBound) {
  FenceBook book(TestOptions());
  MustSet(&book, Roaming("r", "medic-*", 1000, {kInside}));
  FakeHerd herd;
  char id[32];
  for (int i = 0; i < FenceBook::kMaxNearbyVisits; ++i) {
    std::snprintf(id, sizeof id, "a-truck-%05d", i);  // visited first (map order)
    herd.Put(id, 0, 0.001);
  }
  herd.Put("medic-1", 0, 0.001);
  EXPECT_EQ(Walker(&book, "x", herd.Lookup()).Move(0, 0), Names{});
  herd.Put("a-truck-00000", 50, 50);  // one fewer in the way
  EXPECT_EQ(Walker(&book, "x", herd.Lookup()).Move(0, 0), Names{"r:INSIDE"});
}

TEST(FenceBookDetectTest, RoamingWithoutLookupFindsNobody) {
  FenceBook book(TestOptions());
  MustSet(&book, Roaming("r", "", 1000, {kInside, kOutside}));
  EXPECT_EQ(Walker(&book, "x").Move(0, 0), Names{"r:OUTSIDE"});
}

TEST(FenceBookDetectTest, ReplacedAndDeletedFencesFireOnlyWhereTheyAre) {
  FenceBook book(TestOptions());
  MustSet(&book, Circle("c", 0, 0, 1000, {kInside}));
  EXPECT_EQ(Walker(&book, "x").Move(0, 0), Names{"c:INSIDE"});
  MustSet(&book, Circle("c", 10, 10, 1000, {kInside}));  // moved
  EXPECT_EQ(Walker(&book, "x").Move(0, 0), Names{});
  EXPECT_EQ(Walker(&book, "x").Move(10, 10), Names{"c:INSIDE"});
  MustSet(&book, Circle("c", 10, 10, 1000, {kOutside}));  // now everywhere
  EXPECT_EQ(Walker(&book, "x").Move(0, 0), Names{"c:OUTSIDE"});
  EXPECT_EQ(Walker(&book, "x").Move(10, 10), Names{});
  ASSERT_TRUE(book.Delete("c").ok());
  EXPECT_EQ(Walker(&book, "x").Move(0, 0), Names{});
  EXPECT_EQ(Walker(&book, "x").Move(10, 10), Names{});
  EXPECT_FALSE(book.has_fences());
}

TEST(FenceBookDetectTest, ApplyKeepsTheIndexRight) {
  FenceBook book(TestOptions());
  auto versioned = [](v1::Fence fence, int64_t time_ns, bool deleted = false) {
    fence.mutable_version()->set_time_ns(time_ns);
    fence.mutable_version()->set_origin("Bailey");
    fence.mutable_version()->set_deleted(deleted);
    return fence;
  };
  ASSERT_EQ(book.Apply(versioned(Circle("c", 0, 0, 1000, {kInside}), 10)),
            FenceBook::Outcome::kAccepted);
  // Stale: the older version's place must not come back.
  ASSERT_EQ(book.Apply(versioned(Circle("c", 5, 5, 1000, {kInside}), 9)),
            FenceBook::Outcome::kStale);
  EXPECT_EQ(Walker(&book, "x").Move(0, 0), Names{"c:INSIDE"});
  EXPECT_EQ(Walker(&book, "x").Move(5, 5), Names{});
  ASSERT_EQ(book.Apply(versioned(Circle("c", 5, 5, 1000, {kInside}), 11)),
            FenceBook::Outcome::kAccepted);
  EXPECT_EQ(Walker(&book, "x").Move(0, 0), Names{});
  EXPECT_EQ(Walker(&book, "x").Move(5, 5), Names{"c:INSIDE"});
  ASSERT_EQ(book.Apply(versioned(Circle("c", 5, 5, 1000, {kInside}), 12, /*deleted=*/true)),
            FenceBook::Outcome::kAccepted);
  EXPECT_EQ(Walker(&book, "x").Move(5, 5), Names{});
  // Back from deletion by a newer set, then forgotten deletions change nothing.
  ASSERT_EQ(book.Apply(versioned(Square("c", 20, 20, 1, {kInside}), 13)),
            FenceBook::Outcome::kAccepted);
  EXPECT_EQ(Walker(&book, "x").Move(20.5, 20.5), Names{"c:INSIDE"});
  book.ForgetDeleted();
  EXPECT_EQ(Walker(&book, "x").Move(20.5, 20.5), Names{"c:INSIDE"});
}

// Many fences: what Detect fires must be what checking every fence (each
// compiled on its own, no index) says, for INSIDE, ENTER/EXIT and CROSS.
TEST(FenceBookDetectTest, IndexAgreesWithBruteForce) {
  FenceBook book(TestOptions());
  std::mt19937 random(11);
  std::uniform_real_distribution<double> lat(30, 50), lng(-120, -80), unit(0, 1);
  std::vector<std::shared_ptr<const CompiledFence>> all;
  for (int i = 0; i < 1500; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "f%04d", i);
    v1::Fence fence;
    // Half without CROSS: their EXITs rest on the lookup of the previous
    // position alone (CROSS fences are also found along the way).
    const std::vector<Kind> kinds = i % 2 ? std::vector<Kind>{kEnter, kExit, kInside, kCross}
                                          : std::vector<Kind>{kEnter, kExit, kInside};
    if (i % 3 == 0) {
      fence =
          Circle(id, lat(random), lng(random), 500 + 100'000 * unit(random) * unit(random), kinds);
    } else {
      const testing::Vec centre = testing::FromDegrees(lat(random), lng(random));
      const double radius = 0.0002 + 0.02 * unit(random) * unit(random);
      const auto ring = testing::StarRing(random, centre, radius, 8 + i % 12, 0.6);
      fence.set_id(id);
      fence.mutable_polygon()->set_geojson(testing::PolygonJson({ring}));
      for (Kind kind : kinds) fence.add_detect(kind);
    }
    MustSet(&book, fence);
    absl::StatusOr<std::shared_ptr<const CompiledFence>> compiled =
        CompiledFence::Compile(fence, "");
    ASSERT_TRUE(compiled.ok());
    all.push_back(*compiled);
  }
  auto check = [&](int steps) {
    int events = 0;
    for (int step = 0; step < steps; ++step) {
      const double lat0 = lat(random), lng0 = lng(random);
      // Short and long moves.
      const double reach = step % 2 ? 0.05 : 5;
      const double lat1 = lat0 + reach * (unit(random) - 0.5),
                   lng1 = lng0 + reach * (unit(random) - 0.5);
      const Record before = At("x", lat0, lng0);
      const Record now = At("x", lat1, lng1);
      double plat0, plng0, plat1, plng1;
      EXPECT_TRUE(ParseLocation(before.location, &plat0, &plng0));
      EXPECT_TRUE(ParseLocation(now.location, &plat1, &plng1));
      const S2Point a = PointFromDegrees(plat0, plng0), b = PointFromDegrees(plat1, plng1);
      std::set<std::string> expected;
      for (const auto& fence : all) {
        const bool was = fence->Contains(a), is = fence->Contains(b);
        if (!was && is) expected.insert(fence->id() + ":ENTER");
        if (was && !is) expected.insert(fence->id() + ":EXIT");
        if (is) expected.insert(fence->id() + ":INSIDE");
        if (!was && !is && fence->Detects(kCross) && fence->SegmentReaches(a, b)) {
          expected.insert(fence->id() + ":CROSS");
        }
      }
      std::vector<FiredEvent> fired;
      const RecordView before_view = before.view();
      book.Detect(now.view(), &before_view, nullptr, &fired);
      std::set<std::string> got;
      for (const FiredEvent& f : fired) {
        got.insert(f.event.fence_id() + ":" + v1::FenceEvent::Kind_Name(f.event.kind()));
      }
      EXPECT_EQ(got, expected) << "step " << step;
      if (got != expected) break;
      EXPECT_EQ(got.size(), fired.size());  // nothing twice
      events += got.size();
    }
    return events;
  };
  EXPECT_GT(check(600), 60);  // the sample must reach fences
  // Half deleted, some replaced elsewhere: the index must follow.
  for (size_t i = 0; i < all.size(); i += 2) ASSERT_TRUE(book.Delete(all[i]->id()).ok());
  std::vector<std::shared_ptr<const CompiledFence>> kept;
  for (size_t i = 1; i < all.size(); i += 2) kept.push_back(all[i]);
  for (size_t i = 0; i < kept.size(); i += 10) {
    const v1::Fence moved =
        Circle(kept[i]->id(), lat(random), lng(random), 20'000, {kEnter, kExit, kInside, kCross});
    MustSet(&book, moved);
    kept[i] = *CompiledFence::Compile(moved, "");
  }
  all = kept;
  EXPECT_GT(check(600), 30);
}

}  // namespace
}  // namespace herd

namespace herd {
namespace {

// Readers detecting while a writer replaces and deletes fences: no crash, no
// event from a fence that never covered the point, and the final state is
// what the last change says.
TEST(FenceBookDetectTest, DetectWhileFencesChange) {
  FenceBook book(TestOptions());
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  auto reader = [&] {
    std::vector<FiredEvent> fired;
    const Record now = At("x", 0, 0);
    while (!done.load()) {
      fired.clear();
      book.Detect(now.view(), nullptr, nullptr, &fired);
      for (const FiredEvent& f : fired) {
        if (f.event.fence_id() != "here") ++wrong;
      }
    }
  };
  std::thread a(reader), b(reader);
  for (int i = 0; i < 300; ++i) {
    MustSet(&book, Square("here", -1, -1, 2, {kInside}));
    MustSet(&book, Circle("elsewhere", 40, 40, 1000 + i, {kInside}));
    if (i % 3 == 0) {
      ASSERT_TRUE(book.Delete("here").ok());
    }
  }
  done = true;
  a.join();
  b.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(Walker(&book, "y").Move(0, 0), Names{"here:INSIDE"});
}

}  // namespace
}  // namespace herd
