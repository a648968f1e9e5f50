#ifndef HERD_STORE_DURABLE_MARK_H_
#define HERD_STORE_DURABLE_MARK_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "store/store.h"

namespace herd {

// How far a store's feed is durable (per shard, the last sequence number
// whose record, or a newer version of it, is on disk), and the replies
// waiting for it: an edge reply or a Report answer is held back until the
// record it acknowledges is durable, without blocking the thread that made
// it (the persister runs the callback when the mark passes).
//
// Thread-safe. Covers() is lock-free.
class DurableMark {
 public:
  using Callback = std::function<void()>;

  DurableMark() = default;
  DurableMark(const DurableMark&) = delete;
  DurableMark& operator=(const DurableMark&) = delete;

  // Whether every record up to `needed` (per shard) is durable.
  bool Covers(const Store::Cursor& needed) const {
    for (int s = 0; s < Store::kShards; ++s) {
      if (needed.seen[s] > durable_[s].load(std::memory_order_acquire)) return false;
    }
    return true;
  }

  // Runs `done` once Covers(needed): at once on this thread if it does
  // already, else on the thread that calls Advance. `done` must be quick
  // and must not block (post the work elsewhere).
  void WhenDurable(const Store::Cursor& needed, Callback done) {
    {
      absl::MutexLock lock(&mu_);
      if (!Covers(needed)) {
        waiters_.emplace_back(needed, std::move(done));
        return;
      }
    }
    done();
  }

  // Everything up to `durable` is durable now: runs the waiters it covers.
  void Advance(const Store::Cursor& durable) {
    std::vector<Callback> ready;
    {
      absl::MutexLock lock(&mu_);
      for (int s = 0; s < Store::kShards; ++s) {
        if (durable.seen[s] > durable_[s].load(std::memory_order_relaxed)) {
          durable_[s].store(durable.seen[s], std::memory_order_release);
        }
      }
      auto keep = waiters_.begin();
      for (auto& waiter : waiters_) {
        if (Covers(waiter.first)) {
          ready.push_back(std::move(waiter.second));
        } else {
          *keep++ = std::move(waiter);
        }
      }
      waiters_.erase(keep, waiters_.end());
    }
    for (Callback& done : ready) done();
  }

  // The durable point, for status pages.
  Store::Cursor Snapshot() const {
    Store::Cursor out;
    for (int s = 0; s < Store::kShards; ++s) out.seen[s] = durable_[s].load();
    return out;
  }

 private:
  std::array<std::atomic<uint64_t>, Store::kShards> durable_{};
  absl::Mutex mu_;
  std::vector<std::pair<Store::Cursor, Callback>> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_STORE_DURABLE_MARK_H_
