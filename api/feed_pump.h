#ifndef HERD_API_FEED_PUMP_H_
#define HERD_API_FEED_PUMP_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "store/store.h"

namespace herd {

// Something that reads the store's feed with a cursor of its own (a Watch
// stream, the location index) and must be told when the store accepts more.
class FeedReader {
 public:
  virtual ~FeedReader() = default;

  // Reads what the feed holds after the reader's cursor and hands it on,
  // without blocking and with bounded work. Returns true if it stopped with
  // feed left to read and nothing else will call it again (it is then run
  // again soon).
  virtual bool Pump() = 0;

  // The pump is stopping (the server shuts down): end what depends on it.
  virtual void Close() {}

  // Whether someone waits for what this reader hands on (a Watch client):
  // while one such reader is added, the pump runs within the pacing's
  // min_interval of a change; with none (the location index alone, which
  // a query also brings up to date itself) within background_interval.
  virtual bool latency_sensitive() const { return false; }
};

// Runs feed readers on a thread of its own whenever their feed changes, so
// that the thread that changed it only sets a flag, whatever the number or
// speed of readers: a relaxed read of a flag that is already set, nearly
// always (the first change after a batch also takes the pump's lock once to
// wake it). Wake-ups coalesce: readers are run once per batch of changes,
// not once per change.
//
// How batches are paced is the feed's (Pacing). The store's feed (Start
// with a Store: the location index and Locations/Watch streams) starts
// batches at most once per 250 us while a Watch stream is open: under load
// the applying threads then wake the pump at most four thousand times a
// second rather than once per record, at the cost of up to a quarter of a
// millisecond of delay for watchers; a record that arrives after a quiet
// spell (a gap longer than the interval, as at a thousand reports a
// second) waits for nothing. Without watchers the readers are background
// work, and batches start at most once per 5 ms. A feed whose changes are
// rare (fence events) may instead have the changing thread run a few
// readers itself (max_inline_readers), so that an event reaches the wire
// without a thread wake-up, which costs the most on a small machine.
//
// Thread-safe. Owned by shared_ptr (readers and the feed's listener hold
// it); Stop() before the feed goes away.
class FeedPump : public std::enable_shared_from_this<FeedPump> {
 public:
  // How a feed tells the pump it changed: `add` registers a listener it
  // calls after every change (on the changing thread; it may run once more
  // after `remove`) and returns its id.
  struct Notifier {
    std::function<int64_t(std::function<void()>)> add;
    std::function<void(int64_t)> remove;
  };
  struct Pacing {
    // Batches start at least this far apart while a latency-sensitive
    // reader is added, and `background_interval` apart otherwise.
    absl::Duration min_interval = absl::ZeroDuration();
    absl::Duration background_interval = absl::ZeroDuration();
    // While at most this many readers are added, the changing thread runs
    // them itself instead of waking the pump's thread.
    size_t max_inline_readers = 0;
  };

  // The store's feed, paced as described above.
  // REQUIRES: `store` outlives Stop().
  static std::shared_ptr<FeedPump> Start(Store* store);
  // REQUIRES: the feed behind `notifier` outlives Stop().
  static std::shared_ptr<FeedPump> Start(Notifier notifier, Pacing pacing);
  FeedPump(const FeedPump&) = delete;
  FeedPump& operator=(const FeedPump&) = delete;
  ~FeedPump();

  // Adds a reader that is run after every change of the store (it is held
  // weakly: it lives as long as its owners keep it). False once stopping.
  bool Add(const std::shared_ptr<FeedReader>& reader);
  void Remove(const FeedReader* reader);
  size_t size() const;

  // Runs `reader` once soon (it has work left it cannot do now).
  void Schedule(std::shared_ptr<FeedReader> reader);

  // Stops listening to the feed and joins the thread, then Close()s every
  // reader still added. Idempotent.
  void Stop();

 private:
  FeedPump(Notifier notifier, Pacing pacing);
  // The feed changed and the flag was clear (or readers run inline): runs
  // the readers here, or wakes the thread.
  void OnChange();
  // Wakes the pump's thread if it waits for work (changed_ is set).
  void Wake();
  // The pump's thread: runs batches while the pump exists and is not stopped.
  static void Run(const std::weak_ptr<FeedPump>& weak);
  // Waits for work and runs one batch of readers; false once stopping.
  bool RunBatch();
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || changed_->load() || !scheduled_.empty();
  }

  // Constant after construction.
  const Notifier notifier_;
  const Pacing pacing_;
  // The feed changed since the last batch began. Shared with the feed's
  // listener, which sets it without holding the pump.
  const std::shared_ptr<std::atomic<bool>> changed_ = std::make_shared<std::atomic<bool>>(false);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<const FeedReader*, std::weak_ptr<FeedReader>> readers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<FeedReader>> scheduled_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int latency_sensitive_readers_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_batch_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t listener_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;  // started in Start(), joined in Stop()
};

}  // namespace herd

#endif  // HERD_API_FEED_PUMP_H_
