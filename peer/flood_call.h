#ifndef HERD_PEER_FLOOD_CALL_H_
#define HERD_PEER_FLOOD_CALL_H_

#include <chrono>
#include <deque>
#include <memory>
#include <optional>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/write_gate.h"
#include "herd/v1/peer.grpc.pb.h"
#include "peer/link_context.h"
#include "store/store.h"

namespace herd {

class PeerLink;

// One outbound Flood stream to a neighbour (a gRPC client reactor).
//
// Sends PeerHello, waits for PeerWelcome (which says where to resume), then
// sends the store's feed after that point in batches (skipping records the
// neighbour itself sent us in its current epoch).
//
// Fences travel in the same batches: the call reads the FenceBook's feed
// with a cursor of its own that starts at 0 on every stream, so a new
// stream's first batches carry the whole fence set (sets and deletions):
// fences are few, so that is their catch-up, and they need no resume point.
// After that a fence goes out in the next batch after it changes. Fences
// are not skipped by source: one sent back to the neighbour it came from
// stops there, stale. A batch with no fence change costs one comparison
// with the book's last_seq().
//
// A busy link is ack-clocked, as TCP is: once a batch carries more than
// one record, it asks for an acknowledgement and the next batch waits for
// it, so records accepted during a round trip travel together, batches grow
// with the rate, and the per-record cost of the link (a write, a wake-up and
// an acknowledgement at each end) falls with it. It also waits until
// kCoalescingWindow after the last batch went out, so that a busy link sends
// about a thousand batches a second whatever the rate.
//
// A quiet link (its last batch carried one record, as at a thousand reports
// a second on one machine, or none) does not wait: a batch goes out as soon
// as the last write is done, with up to kMaxUnackedBatches unacknowledged.
// Only every kAckEvery-th of those asks for an acknowledgement, which
// covers the batches before it (the others are marked ack_later), and a
// link that falls silent with batches not yet asked about sends an empty
// batch that asks, kAckDelay after its last. An acknowledgement costs a
// write at the neighbour and a read here, each a wake-up of a gRPC thread:
// this takes away nearly half of the wake-ups a quiet link's record costs
// (about 2 completions a batch instead of 4), and the round trip that used
// to stand between two records.
//
// When the feed is drained the call waits for Pump() (the store accepted
// something). A slow or dead neighbour therefore costs at most
// kMaxUnackedBatches batches of transport buffers (the HTTP/2 window
// bounds those too), and what it misses is coalesced per client by the
// store.
//
// Thread-safe: Pump() and Cancel() may be called from any thread. Owns
// itself (a self reference released in OnDone); others hold it by
// shared_ptr, and a hold keeps gRPC from finishing while Pump() may write.
// Its destructor is its last use of the link.
class FloodCall : public grpc::ClientBidiReactor<v1::FloodRequest, v1::FloodResponse>,
                  public std::enable_shared_from_this<FloodCall> {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::microseconds kCoalescingWindow{1000};
  // How long a cursor that moved only over the neighbour's own records
  // waits for records to travel with before it goes alone.
  static constexpr std::chrono::milliseconds kCursorOnlyDelay{50};
  // On a quiet link: batches in flight without an acknowledgement, at
  // most; every kAckEvery-th asks for one; a link gone silent asks
  // kAckDelay after its last batch.
  static constexpr size_t kMaxUnackedBatches = 16;
  static constexpr size_t kAckEvery = 8;
  static constexpr std::chrono::milliseconds kAckDelay{10};

  // `link` hears about the call's progress, its end and its destruction;
  // it must outlive the call (PeerLink::AwaitStopped waits for that).
  FloodCall(PeerLink* link, const LinkContext* context);
  ~FloodCall() override;
  FloodCall(const FloodCall&) = delete;
  FloodCall& operator=(const FloodCall&) = delete;

  // Starts the RPC on `stub`. Call once.
  void Begin(v1::Peer::Stub* stub);

  // Sends what the feed holds, if the stream is ready for a write.
  void Pump();

  void Cancel() { context_->TryCancel(); }

 private:
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  void HandleWelcome(const v1::PeerWelcome& welcome);
  void HandleAck(const v1::BatchAck& ack);
  // Puts into request_ the records after cursor_ (at most
  // max_batch_records, none the neighbour sent), advancing it; how many.
  size_t ReadRecordsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts into request_ the fence versions after fence_cursor_ (bounded by
  // max_batch_fences and max_batch_fence_bytes), advancing it; how many.
  size_t ReadFencesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the next batch if the stream may write and the feed has one;
  // false otherwise.
  bool WriteNextBatch();
  // Whether a batch with nothing in it should go now: to carry a cursor
  // that moved only over the neighbour's own records (kCursorOnlyDelay
  // after it did), or to ask for the acknowledgement of batches sent
  // without asking (kAckDelay after the last batch). If one is pending but
  // not yet due, asks for a wake-up when it is.
  bool EmptyBatchDueLocked(Clock::time_point now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a batch due at `due` must still wait; if so, asks the link for
  // a wake-up then, unless one no later than `due` is already pending.
  bool HoldBackUntilLocked(Clock::time_point due, Clock::time_point now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What the gate hands out when the stream has ended and no write is in
  // flight: the hold that keeps OnDone away may go.
  struct ReleaseHold {};

  // Constant after construction.
  PeerLink* const link_;
  const LinkContext* const link_context_;

  std::unique_ptr<grpc::ClientContext> context_;  // reset first on destruction
  v1::FloodResponse response_;                    // used by the one read in flight
  std::shared_ptr<FloodCall> self_;               // keeps the reactor alive until OnDone

  absl::Mutex mu_;
  v1::FloodRequest request_ ABSL_GUARDED_BY(mu_);  // the one write in flight
  Store::Cursor cursor_ ABSL_GUARDED_BY(mu_);      // feed position read so far
  // Whether cursor_ moved since the last batch (over records not sent),
  // and since when.
  bool cursor_unsent_ ABSL_GUARDED_BY(mu_) = false;
  Clock::time_point cursor_unsent_since_ ABSL_GUARDED_BY(mu_);
  // The cursors of the batches sent and not yet acknowledged, oldest
  // first (at most kMaxUnackedBatches), and how many of the newest of them
  // did not ask for an acknowledgement.
  std::deque<Store::Cursor> unacked_ ABSL_GUARDED_BY(mu_);
  size_t not_asked_ ABSL_GUARDED_BY(mu_) = 0;
  // The last batch sent: when it went out, how many records it carried.
  Clock::time_point last_batch_at_ ABSL_GUARDED_BY(mu_);
  size_t last_batch_records_ ABSL_GUARDED_BY(mu_) = 0;
  // A WakeAt(wake_due_) is pending on the link.
  bool wake_pending_ ABSL_GUARDED_BY(mu_) = false;
  Clock::time_point wake_due_ ABSL_GUARDED_BY(mu_);
  Store::Source skip_ ABSL_GUARDED_BY(mu_);  // the neighbour's own records
  size_t records_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // The fence feed read so far: from 0 on every stream (see above).
  uint64_t fence_cursor_ ABSL_GUARDED_BY(mu_) = 0;
  size_t fences_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool welcomed_ ABSL_GUARDED_BY(mu_) = false;
  WriteGate<ReleaseHold> gate_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_PEER_FLOOD_CALL_H_
