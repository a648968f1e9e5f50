#include "api/fence_watch_stream.h"

#include <utility>

namespace herd {

FenceWatchStream::FenceWatchStream(const FenceEventFeed* feed, std::shared_ptr<FeedPump> pump,
                                   absl::flat_hash_set<std::string> fence_ids, uint64_t start,
                                   const Options& options, std::shared_ptr<void> ticket)
    : PumpedWriteStream(std::move(pump), std::move(ticket)),
      feed_(feed),
      fence_ids_(std::move(fence_ids)),
      options_(options),
      cursor_(start) {}

bool FenceWatchStream::FillLocked(v1::WatchFencesResponse* message, bool* run_again) {
  const uint64_t before = cursor_;
  FenceEventFeed::Read read =
      feed_->ReadAfter(&cursor_, fence_ids_, options_.max_batch_events, options_.max_scan);
  skipped_ += read.skipped;
  if (read.events.empty()) {
    // Nothing for this stream; entries of other fences may remain beyond
    // the scan limit: then run again soon rather than wait for the next.
    *run_again = cursor_ != before && cursor_ < feed_->last_seq();
    return false;
  }
  for (const auto& event : read.events) *message->add_events() = *event;
  message->set_skipped(skipped_);
  skipped_ = 0;
  return true;
}

}  // namespace herd
