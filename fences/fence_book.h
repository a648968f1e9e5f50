#ifndef HERD_FENCES_FENCE_BOOK_H_
#define HERD_FENCES_FENCE_BOOK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "herd/v1/fences.pb.h"
#include "store/record.h"

namespace herd {

class CompiledFence;
class FenceIndex;

// A point in degrees.
struct LatLng {
  double latitude = 0;
  double longitude = 0;
};

// An event Detect() fired, and where its fence wants it POSTed (empty: no
// webhook).
struct FiredEvent {
  v1::FenceEvent event;
  std::string webhook_url;
};

// The herd's fences as this server knows them, like the Store for records:
// newer wins per fence id (by FenceVersion: time, then origin), deletions
// are kept as versions too (for a while) so they flood like sets, and every
// accepted change gets the next sequence number of a feed that neighbours
// and the disk read with a cursor (each fence once, at its newest version).
// Detect() tells which fences a client's new location fires.
//
// Each live fence is compiled once, when it is accepted and before the lock
// is taken (CompiledFence: S2 geometry, parsed patterns), and kept in a
// FenceIndex by the cells covering it, so a report looks only at the fences
// near it (plus roaming fences and those detecting OUTSIDE, which apply
// everywhere).
//
// Thread-safe. Changes take a mutex; Detect() reads under a shared lock and
// has_fences() is lock-free, so a server with no fences pays one relaxed
// load per report.
class FenceBook {
 public:
  struct Options {
    std::string server_name;  // stamps versions and fired events
    uint64_t epoch = 0;       // a number new with every process start: part of event ids
    size_t max_fences = 10000;
    // Deletions are forgotten this long after they were made (and the oldest
    // first once there are more than max_fences of them).
    int64_t deleted_ttl_ns = int64_t{24} * 3600 * 1000000000;
    std::function<int64_t()> now_ns;  // wall clock, ns since the epoch
  };

  enum class Outcome {
    kAccepted,  // newer than what was held: kept, and in the feed
    kStale,     // not newer: nothing changed
    kInvalid,   // does not check out (a neighbour's bug or a forgery): dropped
    kRefused,   // a new fence while max_fences are held
  };

  // Finds clients near a point for roaming fences: calls `visit` with each
  // client held within `radius_m` of (latitude, longitude) and its location,
  // until `visit` returns false. Detect calls it without holding any lock of
  // the book, and visits at most kMaxNearbyVisits clients per call.
  using NearbyVisitor = absl::FunctionRef<bool(std::string_view client_id, LatLng location)>;
  using NearbyLookup = std::function<void(LatLng centre, double radius_m, NearbyVisitor visit)>;

  static constexpr int kMaxNearbyVisits = 1000;

  explicit FenceBook(Options options);
  FenceBook(const FenceBook&) = delete;
  FenceBook& operator=(const FenceBook&) = delete;
  ~FenceBook();

  // A fence from a client of this server: checked (INVALID_ARGUMENT whose
  // message starts with the field path, "fence.circle.radius_m: ..."),
  // stamped with a version newer than any held for its id, and kept.
  // RESOURCE_EXHAUSTED when it is new and max_fences are held. Answers the
  // fence as stored.
  absl::StatusOr<v1::Fence> Set(const v1::Fence& fence);

  // Deletes a live fence (NOT_FOUND if none): keeps a deletion version.
  absl::StatusOr<v1::Fence> Delete(std::string_view id);

  // A live fence.
  std::optional<v1::Fence> Get(std::string_view id) const;

  // Up to `max` live fences with ids after `after_id`, in id order.
  std::vector<v1::Fence> List(std::string_view after_id, size_t max) const;

  // Live fences.
  size_t size() const;

  // A fence version from a neighbour or from disk: kept if newer than the
  // held version of its id (live or deleted). A version that is not newer is
  // kStale before its fields are checked (a repeat costs no compiling).
  Outcome Apply(const v1::Fence& fence);

  // Up to `max` feed entries after `*cursor` (fences and deletions, each id
  // once at its newest version), advancing the cursor past them. A cursor
  // starts at 0 (everything).
  std::vector<v1::Fence> ReadAfter(uint64_t* cursor, size_t max) const;
  // The number of the last accepted change (0: none).
  uint64_t last_seq() const;

  // Called after each accepted change, on the changing thread, outside the
  // lock; must be quick and must not block. Same contract as Store's.
  int64_t AddListener(std::function<void()> listener);
  void RemoveListener(int64_t id);

  // Forgets deletions past deleted_ttl. Returns how many.
  size_t ForgetDeleted();

  // Events Detect() fired since the start.
  uint64_t events_fired() const { return events_fired_.load(std::memory_order_relaxed); }

  // Whether any live fence exists (lock-free): if not, skip Detect.
  bool has_fences() const { return live_.load(std::memory_order_relaxed) > 0; }

  // The events `record` fires, a report of one of this server's own clients
  // that the store has just accepted; `previous` is the client's record
  // before it (null for a new client). Appends to `events`, ordered by fence
  // id, then kind. Only fences whose client_pattern matches the client.
  //
  // Circles and polygons: inside now is the new position in the fence,
  // inside before the previous one (a new client was outside). ENTER: out,
  // then in; EXIT: in, then out; INSIDE / OUTSIDE: on every report, by the
  // new position; CROSS: out and out, and the great-circle segment from the
  // previous position to the new one meets the fence.
  //
  // Roaming: a client is inside while another client (not itself) matching
  // nearby_pattern is within radius_m of it, as `nearby` finds them. Inside
  // before is judged from the previous position against the others'
  // positions now (an approximation: where they were then is not kept).
  // nearby_client_id is the nearest such client (now for ENTER and INSIDE,
  // before for EXIT), among the first kMaxNearbyVisits clients visited.
  //
  // Does not allocate unless an event fires (or a fence detects CROSS and
  // the client moved).
  void Detect(const RecordView& record, const RecordView* previous, const NearbyLookup& nearby,
              std::vector<FiredEvent>* events) const;

 private:
  struct Entry;
  struct Report;

  // Checks a fence's fields (not its version) and compiles it;
  // INVALID_ARGUMENT naming the field under `prefix`. A deletion is only
  // checked for its id (its shape is never used): null when it checks out.
  absl::StatusOr<std::shared_ptr<const CompiledFence>> Check(const v1::Fence& fence,
                                                             std::string_view prefix) const;
  // Whether a version at least as new as fence.version() is held.
  bool IsStale(const v1::Fence& fence) const ABSL_LOCKS_EXCLUDED(mu_);
  // Replaces the entry of fence.id() and its place in the index; `compiled`
  // is the fence's (null for a deletion). REQUIRES: newer than the held one.
  void Put(const v1::Fence& fence, std::shared_ptr<const CompiledFence> compiled)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Notify();

  // Detect's parts: circles and polygons (pure, under the reader lock),
  // roaming fences (calling `nearby`, with no lock held), one event.
  void DetectStatic(const CompiledFence& fence, const Report& report,
                    std::vector<FiredEvent>* events) const;
  void DetectRoaming(const CompiledFence& fence, const Report& report, const NearbyLookup& nearby,
                     std::vector<FiredEvent>* events) const;
  void Fire(const CompiledFence& fence, v1::FenceEvent::Kind kind, const Report& report,
            std::string_view nearby_client_id, std::vector<FiredEvent>* events) const;

  const Options options_;

  mutable absl::Mutex mu_;
  absl::btree_map<std::string, std::shared_ptr<const Entry>, std::less<>> by_id_
      ABSL_GUARDED_BY(mu_);
  absl::btree_map<uint64_t, std::string> by_seq_ ABSL_GUARDED_BY(mu_);  // the feed
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // The live fences of by_id_ (a pointer: S2 stays out of this header).
  const std::unique_ptr<FenceIndex> index_ ABSL_PT_GUARDED_BY(mu_);
  std::atomic<size_t> live_{0};
  mutable std::atomic<uint64_t> events_fired_{0};

  mutable absl::Mutex listeners_mu_;
  std::vector<std::pair<int64_t, std::shared_ptr<std::function<void()>>>> listeners_
      ABSL_GUARDED_BY(listeners_mu_);
  int64_t next_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 1;
};

// Whether `a` is a newer version than `b` (time, then origin bytes).
bool IsNewerFenceVersion(const v1::FenceVersion& a, const v1::FenceVersion& b);

}  // namespace herd

#endif  // HERD_FENCES_FENCE_BOOK_H_
