#ifndef HERD_API_FENCE_WATCH_STREAM_H_
#define HERD_API_FENCE_WATCH_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "api/feed_pump.h"
#include "api/fence_event_feed.h"
#include "common/write_gate.h"
#include "herd/v1/fences.grpc.pb.h"

namespace herd {

// One Fences.Watch stream (a gRPC server write reactor): a cursor over the
// FenceEventFeed, starting at its end (events from when the stream began).
// It sends what the feed holds after its cursor, one write in flight; each
// completed write reads the next message, and when the feed is drained it
// waits for the FeedPump (the feed got events). A slow or stalled
// reader therefore holds one message and its cursor, never a queue: what it
// has not read is coalesced per (fence, client) by the feed, and the events
// it passed over are reported in the next message's `skipped`.
//
// Thread-safe: Pump() and Close() may be called from any thread. Owns
// itself (a self reference released in OnDone); the pump holds it weakly.
class FenceWatchStream : public grpc::ServerWriteReactor<v1::WatchFencesResponse>,
                         public FeedReader,
                         public std::enable_shared_from_this<FenceWatchStream> {
 public:
  // The message in flight is a stream's only buffer: small.
  struct Options {
    size_t max_batch_events = 128;  // events per message
    size_t max_scan = 4096;         // feed entries looked at per Pump()
  };

  // `fence_ids` empty: every fence. The stream sends the events published
  // after `start` (the feed's last_seq() when the Watch began). `ticket` is
  // held until the stream is done (a place among the server's Watch
  // streams). REQUIRES: `feed` outlives the stream (the gRPC server is shut
  // down before the feed goes).
  FenceWatchStream(const FenceEventFeed* feed, std::shared_ptr<FeedPump> pump,
                   absl::flat_hash_set<std::string> fence_ids, uint64_t start,
                   const Options& options, std::shared_ptr<void> ticket = nullptr);
  FenceWatchStream(const FenceWatchStream&) = delete;
  FenceWatchStream& operator=(const FenceWatchStream&) = delete;

  // Registers with the pump and sends what there is. Call once, from the
  // Watch handler.
  void Begin();

  bool Pump() override;
  bool latency_sensitive() const override { return true; }

  // Ends the stream with UNAVAILABLE (the server is shutting down) as soon
  // as no write is in flight.
  void Close() override;

 private:
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Ends the stream with `status` (the first one given wins) as soon as no
  // write is in flight.
  void End(grpc::Status status);

  // Constant after construction.
  const FenceEventFeed* const feed_;
  const std::shared_ptr<FeedPump> pump_;
  const absl::flat_hash_set<std::string> fence_ids_;
  const Options options_;

  std::shared_ptr<FenceWatchStream> self_;  // keeps the reactor alive until OnDone
  std::shared_ptr<void> ticket_;            // released in OnDone

  absl::Mutex mu_;
  v1::WatchFencesResponse response_ ABSL_GUARDED_BY(mu_);  // the one write in flight
  uint64_t cursor_ ABSL_GUARDED_BY(mu_);                   // feed read so far
  uint64_t skipped_ ABSL_GUARDED_BY(mu_) = 0;              // not yet reported
  WriteGate<grpc::Status> gate_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_API_FENCE_WATCH_STREAM_H_
