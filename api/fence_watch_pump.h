#ifndef HERD_API_FENCE_WATCH_PUMP_H_
#define HERD_API_FENCE_WATCH_PUMP_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "api/feed_pump.h"
#include "api/fence_event_feed.h"

namespace herd {

// Runs the Fences.Watch streams (FeedReaders of a FenceEventFeed) whenever
// the feed gets events. With a few streams open (kMaxInlineReaders) the
// publishing thread (an edge or gRPC thread that fired events) runs them
// itself: each reads its batch and starts a write, or does nothing while a
// write is in flight (its completion reads on), so an event reaches the
// wire without a thread wake-up, which costs the most on a small machine.
// Events are rare next to reports, so the reporting path pays this seldom.
// With more streams the publishing thread only sets a flag and, if the flag
// was clear, wakes this pump's thread, so its cost does not grow with the
// number of streams. Wake-ups coalesce without any added delay: the first
// event after a quiet spell wakes the thread at once, and events published
// while a batch runs are read by the next batch, one run of each stream per
// batch rather than per event.
//
// Thread-safe. Owned by shared_ptr (streams and the feed listener hold it);
// Stop() before the feed goes away.
class FenceWatchPump : public std::enable_shared_from_this<FenceWatchPump> {
 public:
  // REQUIRES: `feed` outlives Stop().
  static std::shared_ptr<FenceWatchPump> Start(FenceEventFeed* feed);
  FenceWatchPump(const FenceWatchPump&) = delete;
  FenceWatchPump& operator=(const FenceWatchPump&) = delete;
  ~FenceWatchPump();

  // Adds a reader run after every Publish (held weakly). False once stopping.
  bool Add(const std::shared_ptr<FeedReader>& reader);
  void Remove(const FeedReader* reader);
  size_t size() const;

  // Runs `reader` once soon (it has work left it cannot do now).
  void Schedule(std::shared_ptr<FeedReader> reader);

  // Stops listening, joins the thread, then Close()s every reader still
  // added. Idempotent.
  void Stop();

 private:
  // Streams run on the publishing thread itself up to this many.
  static constexpr size_t kMaxInlineReaders = 4;

  explicit FenceWatchPump(FenceEventFeed* feed);
  // The feed got events: runs the readers here, or wakes the thread.
  void OnPublish();
  void Wake();
  static void Run(const std::weak_ptr<FenceWatchPump>& weak);
  // Waits for work and runs one batch of readers; false once stopping.
  bool RunBatch();
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || changed_->load() || !scheduled_.empty();
  }

  // Constant after construction.
  FenceEventFeed* const feed_;
  // The feed got events since the last batch began (set by the listener).
  const std::shared_ptr<std::atomic<bool>> changed_ = std::make_shared<std::atomic<bool>>(false);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<const FeedReader*, std::weak_ptr<FeedReader>> readers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<FeedReader>> scheduled_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t listener_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;  // started in Start(), joined in Stop()
};

}  // namespace herd

#endif  // HERD_API_FENCE_WATCH_PUMP_H_
