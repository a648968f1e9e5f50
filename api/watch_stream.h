#ifndef HERD_API_WATCH_STREAM_H_
#define HERD_API_WATCH_STREAM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "api/feed_pump.h"
#include "api/pumped_write_stream.h"
#include "common/metric_cells.h"
#include "herd/v1/locations.grpc.pb.h"
#include "store/store.h"

namespace herd {

// One Locations.Watch stream: a cursor over the store's feed, like a peer
// link, run by the FeedPump as PumpedWriteStream describes. What a slow
// reader has not read yet is coalesced per client by the store, and the
// versions it thereby missed are counted (per shard, sequence numbers are
// consecutive, so the numbers the cursor passed without an entry are
// versions superseded before it got to them) and reported in the next
// message's `skipped`.
//
// With include_current the cursor starts at the beginning of the feed (the
// current state, each client once), else at its end; `initial_state_done`
// marks the message after which the stream is live.
//
// Thread-safe, like its base.
class WatchStream final : public PumpedWriteStream<v1::WatchResponse> {
 public:
  // The message in flight is a stream's only buffer (a reader that never
  // reads holds one): small, so a thousand stalled streams cost tens of MB.
  struct Options {
    size_t max_batch_records = 128;           // locations per message
    size_t max_batch_bytes = 16 << 10;        // about, per message
    size_t max_scan = 4096;                   // feed entries read per Pump()
    ShardedCounter* skipped_total = nullptr;  // adds every reported skip (metrics)
  };

  // `client_ids` empty: every client. `ticket` is held until the stream is
  // done (a place among the server's Watch streams). REQUIRES: `store`
  // outlives the stream (the gRPC server is shut down before the store goes).
  WatchStream(const Store* store, std::shared_ptr<FeedPump> pump,
              absl::flat_hash_set<std::string> client_ids, bool include_current,
              const Options& options, std::shared_ptr<void> ticket = nullptr);

 private:
  bool FillLocked(v1::WatchResponse* message, bool* run_again) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds to skipped_ the versions the cursor passed over between `before`
  // and cursor_ without reading them (beyond start_: older ones are history,
  // not something this stream missed).
  void CountSkippedLocked(const Store::Cursor& before, const std::vector<Store::FeedEntry>& entries)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool ReachedStartLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const Store* const store_;
  const absl::flat_hash_set<std::string> client_ids_;
  const Options options_;
  const Store::Cursor start_;  // the feed's end when the watch began

  Store::Cursor cursor_ ABSL_GUARDED_BY(mu_);  // feed read so far
  uint64_t skipped_ ABSL_GUARDED_BY(mu_) = 0;  // not yet reported
  bool initial_state_done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace herd

#endif  // HERD_API_WATCH_STREAM_H_
