#include "api/fence_watch_stream.h"

#include <optional>
#include <utility>

namespace herd {

FenceWatchStream::FenceWatchStream(const FenceEventFeed* feed, std::shared_ptr<FeedPump> pump,
                                   absl::flat_hash_set<std::string> fence_ids, uint64_t start,
                                   const Options& options, std::shared_ptr<void> ticket)
    : feed_(feed),
      pump_(std::move(pump)),
      fence_ids_(std::move(fence_ids)),
      options_(options),
      ticket_(std::move(ticket)),
      cursor_(start) {}

void FenceWatchStream::Begin() {
  self_ = shared_from_this();
  if (!pump_->Add(self_)) {
    Close();
    return;
  }
  // After Add: whatever is published from now on wakes us, and this read
  // sees everything published since the cursor was set.
  if (Pump()) pump_->Schedule(self_);
}

bool FenceWatchStream::Pump() {
  v1::WatchFencesResponse* message = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (gate_.writing() || gate_.ending()) return false;
    const uint64_t before = cursor_;
    FenceEventFeed::Read read =
        feed_->ReadAfter(&cursor_, fence_ids_, options_.max_batch_events, options_.max_scan);
    skipped_ += read.skipped;
    if (read.events.empty()) {
      // Nothing for this stream; entries of other fences may remain beyond
      // the scan limit: then run again soon rather than wait for the next.
      return cursor_ != before && cursor_ < feed_->last_seq();
    }
    // A fresh message, not Clear(): a cleared one keeps its sub-messages.
    v1::WatchFencesResponse().Swap(&response_);
    for (const auto& event : read.events) *response_.add_events() = *event;
    response_.set_skipped(skipped_);
    skipped_ = 0;
    gate_.BeginWrite();
    message = &response_;
  }
  StartWrite(message);
  return false;
}

void FenceWatchStream::End(grpc::Status status) {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    finish = gate_.End(std::move(status));
  }
  if (finish) Finish(*finish);
}

void FenceWatchStream::OnWriteDone(bool ok) {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    finish = gate_.WriteDone();
  }
  if (finish) {
    Finish(*finish);
  } else if (!ok) {
    End(grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke"));
  } else if (Pump()) {
    pump_->Schedule(shared_from_this());
  }
}

void FenceWatchStream::OnCancel() { End(grpc::Status::CANCELLED); }

void FenceWatchStream::Close() {
  End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
}

void FenceWatchStream::OnDone() {
  pump_->Remove(this);
  {
    absl::MutexLock lock(&mu_);
    v1::WatchFencesResponse().Swap(&response_);  // freed now, not with the last reference
  }
  ticket_.reset();
  auto last_reference = std::move(self_);  // may delete this on return
}

}  // namespace herd
