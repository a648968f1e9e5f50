#include "api/stream_places.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace herd {
namespace {

TEST(StreamPlacesTest, ATicketHoldsItsPlaceUntilDropped) {
  StreamPlaces places(2);
  std::shared_ptr<void> first = places.TryTake();
  std::shared_ptr<void> second = places.TryTake();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(places.TryTake(), nullptr);
  EXPECT_EQ(places.taken(), 2u);
  first.reset();
  EXPECT_EQ(places.taken(), 1u);
  EXPECT_NE(places.TryTake(), nullptr);  // taken and dropped at once
  EXPECT_EQ(places.taken(), 1u);
}

TEST(StreamPlacesTest, CallsTakingTogetherNeverTakeMoreThanThereAre) {
  constexpr size_t kPlaces = 10;
  StreamPlaces places(kPlaces);
  std::atomic<bool> go{false};
  std::vector<std::shared_ptr<void>> held[8];
  std::vector<std::thread> callers;
  for (auto& mine : held) {
    callers.emplace_back([&places, &go, &mine] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 100; ++i) {
        if (std::shared_ptr<void> ticket = places.TryTake()) mine.push_back(std::move(ticket));
      }
    });
  }
  go.store(true);
  for (std::thread& caller : callers) caller.join();
  size_t granted = 0;
  for (const auto& mine : held) granted += mine.size();
  EXPECT_EQ(granted, kPlaces);
  EXPECT_EQ(places.taken(), kPlaces);
}

TEST(StreamPlacesTest, ATicketMayOutliveThePlaces) {
  std::shared_ptr<void> ticket;
  {
    StreamPlaces places(1);
    ticket = places.TryTake();
  }
  ticket.reset();  // gives its place back to a count it shares
}

}  // namespace
}  // namespace herd
