#include "app/grpc_limits.h"

#include <sys/resource.h>

#include <gtest/gtest.h>

#include "app/housekeeper.h"

namespace herd {
namespace {

TEST(FileBudgetTest, TheEdgeLeavesAReserve) {
  EXPECT_EQ(ReservedFileDescriptors(1024), 256u);
  EXPECT_EQ(ReservedFileDescriptors(100), 64u);
  EXPECT_EQ(ReservedFileDescriptors(20), 20u);
  EXPECT_EQ(EdgeConnectionBudget(10'000, 1'048'576), 10'000u);
  EXPECT_EQ(EdgeConnectionBudget(10'000, 1024), 768u);
  EXPECT_EQ(EdgeConnectionBudget(10'000, 20), 1u);  // never 0: the edge still serves
}

TEST(FileBudgetTest, RaiseFileLimitReachesTheHardLimit) {
  const uint64_t limit = RaiseFileLimit();
  rlimit now{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, now.rlim_max);
  EXPECT_EQ(limit, now.rlim_cur == RLIM_INFINITY ? uint64_t{1} << 20 : now.rlim_cur);
}

TEST(HousekeeperTest, RunsItsTasksUntilStopped) {
  absl::Mutex mu;
  int runs = 0;
  Housekeeper housekeeper;
  housekeeper.Add(std::chrono::milliseconds(5), [&] {
    absl::MutexLock lock(&mu);
    ++runs;
  });
  housekeeper.Start();
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                        +[](int* r) { return *r >= 3; }, &runs),
                                    absl::Seconds(10)));
  }
  housekeeper.Stop();
  absl::MutexLock lock(&mu);
  const int stopped_at = runs;
  EXPECT_GE(stopped_at, 3);
}

}  // namespace
}  // namespace herd
