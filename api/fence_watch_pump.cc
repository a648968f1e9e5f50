#include "api/fence_watch_pump.h"

#include <utility>

namespace herd {

FenceWatchPump::FenceWatchPump(FenceEventFeed* feed) : feed_(feed) {}

std::shared_ptr<FenceWatchPump> FenceWatchPump::Start(FenceEventFeed* feed) {
  std::shared_ptr<FenceWatchPump> pump(new FenceWatchPump(feed));
  const int64_t id = feed->AddListener([weak = std::weak_ptr<FenceWatchPump>(pump)] {
    if (auto self = weak.lock()) self->OnPublish();
  });
  {
    absl::MutexLock lock(&pump->mu_);
    pump->listener_id_ = id;
  }
  pump->thread_ = std::thread(&FenceWatchPump::Run, std::weak_ptr<FenceWatchPump>(pump));
  return pump;
}

FenceWatchPump::~FenceWatchPump() { Stop(); }

bool FenceWatchPump::Add(const std::shared_ptr<FeedReader>& reader) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  readers_.insert_or_assign(reader.get(), reader);
  return true;
}

void FenceWatchPump::Remove(const FeedReader* reader) {
  absl::MutexLock lock(&mu_);
  readers_.erase(reader);
}

size_t FenceWatchPump::size() const {
  absl::MutexLock lock(&mu_);
  return readers_.size();
}

void FenceWatchPump::Schedule(std::shared_ptr<FeedReader> reader) {
  absl::MutexLock lock(&mu_);
  if (!stopping_) scheduled_.push_back(std::move(reader));
}

void FenceWatchPump::OnPublish() {
  std::vector<std::shared_ptr<FeedReader>> here;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (readers_.size() <= kMaxInlineReaders) {
      for (const auto& [raw, weak] : readers_) {
        if (auto reader = weak.lock()) here.push_back(std::move(reader));
      }
    }
  }
  if (here.empty()) {
    // Many streams (or none): once the flag is set (until the next batch,
    // which reads these events too) only a read of the flag.
    if (changed_->load(std::memory_order_relaxed) || changed_->exchange(true)) return;
    Wake();
    return;
  }
  for (const auto& reader : here) {
    if (reader->Pump()) Schedule(reader);
  }
}

void FenceWatchPump::Wake() {
  // Releasing mu_ re-evaluates the condition the pump's thread waits on.
  absl::MutexLock lock(&mu_);
}

void FenceWatchPump::Run(const std::weak_ptr<FenceWatchPump>& weak) {
  // A strong reference only while running a batch.
  for (;;) {
    std::shared_ptr<FenceWatchPump> self = weak.lock();
    if (self == nullptr || !self->RunBatch()) return;
  }
}

bool FenceWatchPump::RunBatch() {
  std::vector<std::shared_ptr<FeedReader>> batch;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &FenceWatchPump::HasWorkLocked));
    if (stopping_) return false;
    if (changed_->exchange(false)) {
      scheduled_.clear();  // everyone reads; that covers the scheduled ones
      for (const auto& [raw, weak] : readers_) {
        if (auto reader = weak.lock()) batch.push_back(std::move(reader));
      }
    } else {
      batch.swap(scheduled_);
    }
  }
  std::vector<std::shared_ptr<FeedReader>> again;
  for (const auto& reader : batch) {
    if (reader->Pump()) again.push_back(reader);
  }
  if (!again.empty()) {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      for (auto& reader : again) scheduled_.push_back(std::move(reader));
    }
  }
  return true;
}

void FenceWatchPump::Stop() {
  int64_t listener_id;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    listener_id = listener_id_;
    scheduled_.clear();
  }
  feed_->RemoveListener(listener_id);
  if (thread_.joinable()) {
    // The last owner may let go on the pump's own thread (a reader it ran).
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }
  std::vector<std::shared_ptr<FeedReader>> readers;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [raw, weak] : readers_) {
      if (auto reader = weak.lock()) readers.push_back(std::move(reader));
    }
  }
  for (const auto& reader : readers) reader->Close();
}

}  // namespace herd
