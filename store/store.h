#ifndef HERD_STORE_STORE_H_
#define HERD_STORE_STORE_H_

#include <array>
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
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "store/packed_record.h"
#include "store/record.h"

namespace herd {

// Where a record accepted by a Store came from: a local client (empty name)
// or a neighbour, with that neighbour's epoch at the time.
struct RecordSource {
  std::string name;
  uint64_t epoch = 0;
  bool operator==(const RecordSource&) const = default;
};

// Bounds on what a Store keeps (config "store"); 0 switches one off.
struct StoreLimits {
  size_t max_clients = 0;
  int64_t client_ttl_ns = 0;
  // The clock expiry is measured against (ns since the epoch). Required if
  // client_ttl_ns > 0.
  std::function<int64_t()> now;
};

// The latest record per client, and a feed of the records it accepted.
//
// Apply() keeps a record only if it supersedes the stored one (newer client
// time, exact decimal comparison, deterministic tie-break). Every accepted
// record gets the next sequence number of its shard; the feed is the records
// ordered by those numbers, each client appearing once, at its newest
// version. A reader of the feed (a peer link, a watcher) holds a Cursor and
// reads what came after it: a slow or absent reader costs the store nothing,
// and what it missed is coalesced per client by construction.
//
// Thread-safe. Clients are spread over kShards shards, each behind its own
// mutex; listeners are called after the shard lock is released.
class Store {
 public:
  static constexpr int kShards = 16;

  // kRefused: a new client while the store holds max_clients. kExpired: a
  // record older than client_ttl (by its origin receive time): it would be
  // forgotten at once, so it is not kept (and never resurrects a client
  // that every server has forgotten).
  enum class Outcome { kAccepted, kStale, kRefused, kExpired };

  using Limits = StoreLimits;

  // A reader's position in the feed: per shard, the last sequence number read
  // or passed (a shard read to its end is passed up to its last number).
  // Meaningful only for the Store (and epoch) that produced it.
  struct Cursor {
    std::array<uint64_t, kShards> seen{};
    int next_shard = 0;  // where the next read starts, for fairness
  };

  using Source = RecordSource;

  // A record in the feed and where it came from. `shard` and `seq` place it
  // in the feed: per shard, sequence numbers are consecutive, so a reader can
  // count the versions superseded before it read them (the numbers it passed
  // without an entry).
  struct FeedEntry {
    Record record;
    Source via;
    int shard = 0;
    uint64_t seq = 0;
  };

  // Where Apply put an accepted record in the feed.
  struct FeedPosition {
    int shard = 0;
    uint64_t seq = 0;
  };

  // Called after each accepted record, on the applying thread, outside every
  // store lock. Must be quick and must not block (post work elsewhere). A
  // listener may still be running when RemoveListener() returns: capture
  // shared state by shared_ptr.
  using Listener = std::function<void()>;

  // `epoch` identifies this store's lifetime (random per process) so a reader
  // can tell whether a cursor it kept still means anything.
  explicit Store(uint64_t epoch, Limits limits = {});
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  uint64_t epoch() const { return epoch_; }

  // Keeps `record` if it supersedes the stored one. `via` says where it came
  // from (default: a local client) so a link can skip sending it back.
  // If it is accepted and `accepted_at` is set, says where it went in the
  // feed (a reply can wait until that point is durable); if `replaced` is
  // set, receives the record it replaced (nothing for a new client), as
  // geofences compare a client's old and new positions.
  // REQUIRES: record.client_time is well formed (IsWellFormedClientTime),
  // and the fields fit (PackedRecord::Fits; std::length_error if not).
  Outcome Apply(const RecordView& record, const Source& via = {},
                FeedPosition* accepted_at = nullptr, std::optional<Record>* replaced = nullptr);
  Outcome Apply(const Record& record, const Source& via = {}, FeedPosition* accepted_at = nullptr,
                std::optional<Record>* replaced = nullptr) {
    return Apply(record.view(), via, accepted_at, replaced);
  }

  // Puts back a record this store's feed held before a restart, at its old
  // sequence number (so cursors that neighbours kept still mean the same
  // records), and raises the shard's last number to at least `seq`. For
  // loading, before anything is applied; no listener is told. kStale if the
  // client is already held, kExpired if its record is past client_ttl.
  Outcome Restore(const RecordView& record, const Source& via, uint64_t seq);

  // Makes each shard number its next record after floor[shard] at least
  // (a loaded store goes on from its last run's numbering).
  void NumberAfter(const std::array<uint64_t, kShards>& floor);

  // The shard a client's records go to: a fixed function of the id (the
  // same in every process), since sequence numbers are per shard and
  // persist across restarts.
  static int ShardOf(std::string_view client_id);

  // Nothing for an unknown client, or one whose record has expired.
  std::optional<Record> Get(std::string_view client_id) const;

  // Number of clients.
  size_t size() const;

  // Bytes the records themselves take (their blocks as malloc sized them),
  // not the indexes around them. Lock-free; a moment's snapshot.
  int64_t record_bytes() const;

  // Forgets every client whose record has expired (client_ttl). Linear in
  // the clients, one shard lock at a time; run from a housekeeping thread.
  // Returns how many were forgotten.
  size_t ForgetExpired();

  // The clients forgotten since the last call, for the index that claimed
  // move tracking (kept only once it is claimed).
  std::vector<std::string> TakeForgotten();

  // Records refused since the start: new clients over max_clients, and
  // records already expired on arrival.
  uint64_t refused_total() const { return refused_total_.load(std::memory_order_relaxed); }
  uint64_t expired_total() const { return expired_total_.load(std::memory_order_relaxed); }
  const Limits& limits() const { return limits_; }

  // Up to `max` feed entries after `cursor`, advancing it past them (and
  // past at most 4 * max entries in all, so a call stays short). Entries
  // that came via exactly `skip` (same name and epoch; ignored if the name is
  // empty) are passed over, not returned: that neighbour has them already.
  std::vector<FeedEntry> ReadAfter(Cursor* cursor, size_t max, const Source& skip = {}) const;

  // The same walk as ReadAfter (no skip), but each entry is handed to
  // `visit` as it is stored instead of being copied out: no allocation, and
  // the visitor unpacks only the fields it reads. `visit` runs under a
  // shard lock, so it must be quick and must not call the store; the
  // record is valid during the call only. Returns the entries visited.
  size_t VisitAfter(Cursor* cursor, size_t max,
                    absl::FunctionRef<void(const PackedRecord& record)> visit) const {
    return VisitAfter(cursor, max, Source{}, visit);
  }
  // And with ReadAfter's `skip`: how a link encodes its batches straight
  // from the store.
  size_t VisitAfter(Cursor* cursor, size_t max, const Source& skip,
                    absl::FunctionRef<void(const PackedRecord& record)> visit) const;

  // Move tracking, for one reader of positions (the location index): a
  // record counts as moved from the version that changes its client's
  // location until that reader has seen it, across later versions that
  // leave the location as it is (clients often report from where they
  // were). True for the first caller only; the claim is for the store's
  // life.
  bool ClaimMoveTracking();
  // VisitAfter for the claimant: hands over only moved entries and marks
  // them seen. Returns the entries walked (moved or not): 0 at the end.
  // REQUIRES: this caller's ClaimMoveTracking() returned true.
  size_t VisitMovedAfter(Cursor* cursor, size_t max,
                         absl::FunctionRef<void(const PackedRecord& record)> visit);

  // Whether the feed has anything after `cursor`.
  bool HasAfter(const Cursor& cursor) const;

  // How many feed entries come after `cursor`, up to `limit`. Linear in the
  // answer: for status pages, not hot paths.
  size_t CountAfter(const Cursor& cursor, size_t limit) const;

  // A cursor positioned after everything accepted so far.
  Cursor End() const;

  // Whether `cursor` is a point this feed has reached: no shard beyond the
  // last sequence number it gave. A cursor from elsewhere (garbage, another
  // store) can fail this; a reader must not resume from such a one.
  bool Reached(const Cursor& cursor) const;

  int64_t AddListener(Listener listener);
  void RemoveListener(int64_t id);

  // While one is alive, the records its thread applies to its store tell
  // the listeners once, when it ends, instead of once each: a batch from a
  // neighbour wakes the links once and they send it on together. One at a
  // time per thread. Not thread-safe: create, use and end it on one thread.
  class NotifyOnce {
   public:
    explicit NotifyOnce(Store* store);
    ~NotifyOnce();
    NotifyOnce(const NotifyOnce&) = delete;
    NotifyOnce& operator=(const NotifyOnce&) = delete;

   private:
    Store* const store_;
  };

 private:
  // A stored record in the client index; the pointer is replaced when a
  // newer record arrives (the key, its client id, never changes).
  struct Slot {
    mutable PackedRecord::Ptr record;
  };
  struct SlotHash {
    using is_transparent = void;
    size_t operator()(std::string_view client_id) const;
    size_t operator()(const Slot& slot) const { return (*this)(slot.record->client_id()); }
  };
  struct SlotEq {
    using is_transparent = void;
    static std::string_view Key(std::string_view id) { return id; }
    static std::string_view Key(const Slot& slot) { return slot.record->client_id(); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return Key(a) == Key(b);
    }
  };
  // Orders records by sequence number; finds by number too.
  struct BySeq {
    using is_transparent = void;
    static uint64_t Seq(uint64_t seq) { return seq; }
    static uint64_t Seq(const PackedRecord* record) { return record->seq(); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return Seq(a) < Seq(b);
    }
  };

  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_set<Slot, SlotHash, SlotEq> by_client ABSL_GUARDED_BY(mu);
    absl::btree_set<const PackedRecord*, BySeq> by_seq ABSL_GUARDED_BY(mu);  // the feed
    uint64_t last_seq ABSL_GUARDED_BY(mu) = 0;
    // Bytes of this shard's record blocks (malloc's usable size); written
    // under mu, read without it (for metrics).
    std::atomic<int64_t> record_bytes{0};
  };

  using ListenerList = std::vector<std::pair<int64_t, std::shared_ptr<Listener>>>;

  // The walk behind ReadAfter, VisitAfter and VisitMovedAfter: calls
  // visit(record, shard) under the shard's lock for up to `max` entries not
  // from `skip_id`.
  template <typename Visit>
  size_t WalkAfter(Cursor* cursor, size_t max, std::optional<uint32_t> skip_id, Visit visit) const;
  Shard& ShardFor(std::string_view client_id);
  const Shard& ShardFor(std::string_view client_id) const;
  int ShardIndex(const Shard& shard) const { return static_cast<int>(&shard - shards_.data()); }
  void NotifyListeners();
  // Sources are stored as small numbers: 0 is a local client.
  uint32_t InternSource(const Source& source);
  std::optional<uint32_t> FindSource(const Source& source) const;
  // The id of the source a reader skips (none for an empty name).
  std::optional<uint32_t> SkipIdOf(const Source& skip) const;
  Source SourceOf(uint32_t id) const;

  bool ExpiredAt(std::string_view client_time, std::string_view skew, int64_t now) const;

  // Constant after construction.
  const uint64_t epoch_;
  const Limits limits_;

  std::atomic<size_t> clients_{0};  // counted only with max_clients
  std::atomic<uint64_t> refused_total_{0};
  std::atomic<uint64_t> expired_total_{0};
  absl::Mutex forgotten_mu_;
  std::vector<std::string> forgotten_ ABSL_GUARDED_BY(forgotten_mu_);

  std::atomic<bool> move_tracking_claimed_{false};

  std::array<Shard, kShards> shards_;

  mutable absl::Mutex sources_mu_;
  std::vector<Source> sources_ ABSL_GUARDED_BY(sources_mu_);  // by id
  absl::flat_hash_map<std::string, std::vector<std::pair<uint64_t, uint32_t>>> source_ids_
      ABSL_GUARDED_BY(sources_mu_);  // name -> (epoch, id)

  mutable absl::Mutex listeners_mu_;
  std::shared_ptr<const ListenerList> listeners_ ABSL_GUARDED_BY(listeners_mu_);
  int64_t next_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 1;
};

}  // namespace herd

#endif  // HERD_STORE_STORE_H_
