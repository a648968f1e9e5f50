#ifndef HERD_API_FEED_PUMP_H_
#define HERD_API_FEED_PUMP_H_

#include <atomic>
#include <cstdint>
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
  // while one such reader is added, the pump runs within kMinInterval of a
  // change; with none (the location index alone, which a query also
  // brings up to date itself) within kBackgroundInterval.
  virtual bool latency_sensitive() const { return false; }
};

// Runs the API's feed readers on a thread of its own whenever the store
// accepts something, so that the applying thread (an IAMAT on the edge, a
// peer's batch, a Report) only sets a flag, whatever the number or speed of
// readers: a relaxed read of a flag that is already set, nearly always
// (the first record after a batch also takes the pump's lock once to wake
// it). Wake-ups coalesce: readers are run once per batch of accepted
// records, not once per record, and batches start at most once per
// kMinInterval (250 us) while a Watch stream is open: under load the
// applying threads then wake the pump at most four thousand times a second
// rather than once per record, at the cost of up to a quarter of a
// millisecond of delay for watchers; a record that arrives after a quiet
// spell (a gap longer than the interval, as at a thousand reports a
// second) waits for nothing. Without watchers the readers are background
// work, and batches start at most once per kBackgroundInterval (5 ms).
//
// Thread-safe. Owned by shared_ptr (readers and the store listener hold it);
// Stop() before the store goes away.
class FeedPump : public std::enable_shared_from_this<FeedPump> {
 public:
  // REQUIRES: `store` outlives Stop().
  static std::shared_ptr<FeedPump> Start(Store* store);
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

  // Stops listening to the store and joins the thread, then Close()s every
  // reader still added. Idempotent.
  void Stop();

 private:
  explicit FeedPump(Store* store);
  // Wakes the pump's thread if it waits for work (changed_ is set).
  void Wake();
  // The pump's thread: runs batches while the pump exists and is not stopped.
  static void Run(const std::weak_ptr<FeedPump>& weak);
  // Waits for work and runs one batch of readers; false once stopping.
  bool RunBatch();
  static constexpr absl::Duration kMinInterval = absl::Microseconds(250);
  static constexpr absl::Duration kBackgroundInterval = absl::Milliseconds(5);

  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || changed_->load() || !scheduled_.empty();
  }

  // Constant after construction.
  Store* const store_;
  // The store accepted something since the last batch began. Shared with
  // the store listener, which sets it without holding the pump.
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
