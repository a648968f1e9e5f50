#ifndef HERD_API_FENCE_WATCH_STREAM_H_
#define HERD_API_FENCE_WATCH_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "api/feed_pump.h"
#include "api/fence_event_feed.h"
#include "api/pumped_write_stream.h"
#include "herd/v1/fences.grpc.pb.h"

namespace herd {

// One Fences.Watch stream: a cursor over the FenceEventFeed, starting at
// its end (events from when the stream began), run by the FeedPump as
// PumpedWriteStream describes. What a slow reader has not read is
// coalesced per (fence, client) by the feed, and the events it passed over
// are reported in the next message's `skipped`.
//
// Thread-safe, like its base.
class FenceWatchStream final : public PumpedWriteStream<v1::WatchFencesResponse> {
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

 private:
  bool FillLocked(v1::WatchFencesResponse* message, bool* run_again) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const FenceEventFeed* const feed_;
  const absl::flat_hash_set<std::string> fence_ids_;
  const Options options_;

  uint64_t cursor_ ABSL_GUARDED_BY(mu_);       // feed read so far
  uint64_t skipped_ ABSL_GUARDED_BY(mu_) = 0;  // not yet reported
};

}  // namespace herd

#endif  // HERD_API_FENCE_WATCH_STREAM_H_
