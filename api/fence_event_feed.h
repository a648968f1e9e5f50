#ifndef HERD_API_FENCE_EVENT_FEED_H_
#define HERD_API_FENCE_EVENT_FEED_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "fences/fence_book.h"
#include "herd/v1/fences.pb.h"

namespace herd {

// The fence events fired at this server, for Fences.Watch streams: like the
// store's feed, but of events. Every published event gets the next sequence
// number; the feed holds the newest event per (fence id, client id), in
// publication order, and at most max_entries of them (the oldest go first).
// A reader is a cursor (the last sequence number it read): it reads each
// key once, at its newest event, so a slow reader is coalesced rather than
// queued.
//
// What a reader passed over is counted exactly: an event that was replaced
// by a newer one of its key, or evicted, leaves a "gap" (its sequence
// number and fence id, kept in a map bounded by max_entries too). A
// reader's `skipped` is the numbers its cursor passed that it did not
// read, less the gaps of fences it does not watch. A gap forgotten under
// the bound counts as skipped for every reader (an over-count only when
// more than max_entries events were replaced while a reader lagged).
//
// Memory: at most max_entries events and max_entries gaps.
//
// Thread-safe. Publish() copies its events, takes the lock for the maps'
// bookkeeping only, then calls the listeners (outside the lock, on the
// publishing thread). A read holds the lock for at most max_scan steps.
class FenceEventFeed {
 public:
  struct Options {
    size_t max_entries = 65536;
  };

  // A read: events after the cursor, oldest first, and how many events the
  // reader passed over (replaced or evicted before it read them).
  struct Read {
    std::vector<std::shared_ptr<const v1::FenceEvent>> events;
    uint64_t skipped = 0;
  };

  // (Two constructors rather than `Options options = {}`: GCC cannot use a
  // nested struct's default member initializers in the enclosing class.)
  FenceEventFeed() : FenceEventFeed(Options()) {}
  explicit FenceEventFeed(Options options);
  FenceEventFeed(const FenceEventFeed&) = delete;
  FenceEventFeed& operator=(const FenceEventFeed&) = delete;

  // Adds `events` (in order), then wakes the listeners once.
  void Publish(const std::vector<FiredEvent>& events);

  // Reads up to `max_events` events after `*cursor` of the fences in
  // `fence_ids` (empty: every fence), looking at no more than `max_scan`
  // held events and gaps, and advances the cursor past what it looked at.
  Read ReadAfter(uint64_t* cursor, const absl::flat_hash_set<std::string>& fence_ids,
                 size_t max_events, size_t max_scan) const;

  // The number of the last published event (0: none): a new reader's cursor.
  uint64_t last_seq() const;
  // Events held now.
  size_t size() const;

  // Called after each Publish, on its thread, outside the lock; must be
  // quick and must not block (set a flag, wake a thread).
  int64_t AddListener(std::function<void()> listener);
  void RemoveListener(int64_t id);

 private:
  struct Entry {
    std::string key;  // fence id, '\0', client id
    std::shared_ptr<const v1::FenceEvent> event;
  };

  static std::string KeyOf(const v1::FenceEvent& event);
  void AddLocked(Entry entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets the held event `seq` (replaced or evicted): it becomes a gap.
  void RemoveLocked(absl::btree_map<uint64_t, Entry>::iterator entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyListeners();

  // Constant after construction.
  const Options options_;

  mutable absl::Mutex mu_;
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  absl::btree_map<uint64_t, Entry> by_seq_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> seq_of_key_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<uint64_t, std::string> gaps_ ABSL_GUARDED_BY(mu_);  // seq -> fence id

  mutable absl::Mutex listeners_mu_;
  std::vector<std::pair<int64_t, std::shared_ptr<std::function<void()>>>> listeners_
      ABSL_GUARDED_BY(listeners_mu_);
  int64_t next_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 1;
};

}  // namespace herd

#endif  // HERD_API_FENCE_EVENT_FEED_H_
