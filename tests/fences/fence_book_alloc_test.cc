// Detect allocates nothing on a report that fires nothing (the common case
// on a busy server): counted by replacing the global operator new in this
// test binary.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "fences/fence_book.h"
#include "gtest/gtest.h"

namespace {
std::atomic<size_t> allocations{0};
}  // namespace

void* operator new(size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace herd {
namespace {

TEST(FenceBookAllocTest, NoAllocationWithoutEvents) {
  FenceBook::Options options;
  options.server_name = "Riley";
  options.now_ns = [] { return int64_t{1}; };
  FenceBook book(options);
  // A grid of polygons, one around the client's path, and a circle.
  for (int i = 0; i < 400; ++i) {
    const double lat = 30 + (i / 20) * 0.5, lng = -110 + (i % 20) * 0.5;
    char json[256];
    std::snprintf(json, sizeof json,
                  R"({"type":"Polygon","coordinates":[[[%f,%f],[%f,%f],[%f,%f],[%f,%f],)"
                  R"([%f,%f]]]})",
                  lng, lat, lng + 0.1, lat, lng + 0.1, lat + 0.1, lng, lat + 0.1, lng, lat);
    v1::Fence fence;
    fence.set_id("p" + std::to_string(i));
    fence.mutable_polygon()->set_geojson(json);
    ASSERT_TRUE(book.Set(fence).ok());
  }
  // Inside p0 ([30, 30.1] x [-110, -109.9]) both times: no ENTER, no EXIT.
  const Record before{"client-with-a-long-id", "Riley", "+0.000000001", "+30.050000-109.950000",
                      "1.5"};
  const Record now{"client-with-a-long-id", "Riley", "+0.000000001", "+30.060000-109.940000",
                   "2.5"};
  // Outside every fence, far from the last.
  const Record away{"client-with-a-long-id", "Riley", "+0.000000001", "+10.000000+010.000000",
                    "3.5"};
  std::vector<FiredEvent> events;
  events.reserve(4);
  const RecordView before_view = before.view();
  const RecordView away_view = away.view();
  book.Detect(now.view(), &before_view, nullptr, &events);  // warm up
  ASSERT_TRUE(events.empty());
  const size_t start = allocations.load();
  for (int i = 0; i < 100; ++i) {
    book.Detect(now.view(), &before_view, nullptr, &events);
    book.Detect(away.view(), &away_view, nullptr, &events);
    book.Detect(away.view(), nullptr, nullptr, &events);
  }
  EXPECT_EQ(allocations.load() - start, 0u);
  EXPECT_TRUE(events.empty());
  // And the counter works: an event allocates.
  book.Detect(now.view(), nullptr, nullptr, &events);
  EXPECT_EQ(events.size(), 1u);
  EXPECT_GT(allocations.load() - start, 0u);
}

}  // namespace
}  // namespace herd
