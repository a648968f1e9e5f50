#include "api/feed_pump.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace herd {
namespace {

// A feed that only says it changed: Change() calls the listeners on the
// calling thread, as the store and the fence event feed do.
class TestFeed {
 public:
  FeedPump::Notifier notifier() {
    return FeedPump::Notifier{[this](std::function<void()> listener) {
                                absl::MutexLock lock(&mu_);
                                listeners_.push_back(std::move(listener));
                                return static_cast<int64_t>(listeners_.size());
                              },
                              [this](int64_t id) {
                                absl::MutexLock lock(&mu_);
                                listeners_[id - 1] = nullptr;
                              }};
  }
  size_t listeners() {
    absl::MutexLock lock(&mu_);
    size_t n = 0;
    for (const auto& listener : listeners_) n += listener ? 1 : 0;
    return n;
  }
  void Change() {
    std::vector<std::function<void()>> listeners;
    {
      absl::MutexLock lock(&mu_);
      listeners = listeners_;
    }
    for (const auto& listener : listeners) {
      if (listener) listener();
    }
  }

 private:
  absl::Mutex mu_;
  std::vector<std::function<void()>> listeners_;
};

// Records the threads it was run on.
class ThreadRecorder : public FeedReader {
 public:
  bool Pump() override {
    absl::MutexLock lock(&mu_);
    threads_.push_back(std::this_thread::get_id());
    return false;
  }
  void Close() override { closed_ = true; }
  // Waits (5 s at most) until it has run `n` times; the threads it ran on.
  std::vector<std::thread::id> AwaitRuns(size_t n) {
    absl::MutexLock lock(&mu_);
    const auto enough = [this, n]()
                            ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return threads_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(5));
    return threads_;
  }
  bool closed() const { return closed_; }

 private:
  absl::Mutex mu_;
  std::vector<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> closed_ = false;
};

TEST(FeedPumpTest, AFewReadersRunOnTheChangingThreadWhenAllowed) {
  TestFeed feed;
  auto pump = FeedPump::Start(feed.notifier(), FeedPump::Pacing{.max_inline_readers = 2});
  auto a = std::make_shared<ThreadRecorder>(), b = std::make_shared<ThreadRecorder>();
  ASSERT_TRUE(pump->Add(a));
  ASSERT_TRUE(pump->Add(b));
  feed.Change();
  // Run before Change() returned, here.
  EXPECT_EQ(a->AwaitRuns(0), std::vector<std::thread::id>{std::this_thread::get_id()});
  EXPECT_EQ(b->AwaitRuns(0), std::vector<std::thread::id>{std::this_thread::get_id()});
  pump->Stop();
  EXPECT_TRUE(a->closed());
}

TEST(FeedPumpTest, MoreReadersThanAllowedInlineRunOnThePumpsThread) {
  TestFeed feed;
  auto pump = FeedPump::Start(feed.notifier(), FeedPump::Pacing{.max_inline_readers = 1});
  auto a = std::make_shared<ThreadRecorder>(), b = std::make_shared<ThreadRecorder>();
  ASSERT_TRUE(pump->Add(a));
  ASSERT_TRUE(pump->Add(b));
  feed.Change();
  const std::vector<std::thread::id> runs = a->AwaitRuns(1);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_NE(runs[0], std::this_thread::get_id());
  EXPECT_EQ(b->AwaitRuns(1).size(), 1u);
  pump->Stop();
}

TEST(FeedPumpTest, WithoutInlineReadersChangesAreRunOffTheChangingThread) {
  TestFeed feed;
  auto pump = FeedPump::Start(feed.notifier(), FeedPump::Pacing{});
  auto a = std::make_shared<ThreadRecorder>();
  ASSERT_TRUE(pump->Add(a));
  EXPECT_EQ(feed.listeners(), 1u);
  feed.Change();
  const std::vector<std::thread::id> runs = a->AwaitRuns(1);
  ASSERT_GE(runs.size(), 1u);
  EXPECT_NE(runs[0], std::this_thread::get_id());
  pump->Stop();
  EXPECT_EQ(feed.listeners(), 0u);  // stopped: it listens no more
  EXPECT_TRUE(a->closed());
  EXPECT_FALSE(pump->Add(std::make_shared<ThreadRecorder>()));
}

}  // namespace
}  // namespace herd
