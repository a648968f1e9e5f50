#include "api/feed_pump.h"

#include <utility>

namespace herd {

FeedPump::FeedPump(Notifier notifier, Pacing pacing)
    : notifier_(std::move(notifier)), pacing_(pacing) {}

std::shared_ptr<FeedPump> FeedPump::Start(Store* store) {
  return Start(Notifier{[store](std::function<void()> listener) {
                          return store->AddListener(std::move(listener));
                        },
                        [store](int64_t id) { store->RemoveListener(id); }},
               Pacing{.min_interval = absl::Microseconds(250),
                      .background_interval = absl::Milliseconds(5)});
}

std::shared_ptr<FeedPump> FeedPump::Start(Notifier notifier, Pacing pacing) {
  std::shared_ptr<FeedPump> pump(new FeedPump(std::move(notifier), pacing));
  // Runs on every change, so it stays cheap: once the flag is set (until
  // the pump's next batch, which reads this change too) it only reads the
  // flag, unless readers may run inline. It may run once more after the
  // listener is removed: it holds the pump weakly.
  const int64_t id =
      pump->notifier_.add([weak = std::weak_ptr<FeedPump>(pump), changed = pump->changed_,
                           inline_readers = pacing.max_inline_readers > 0] {
        if (!inline_readers && changed->load(std::memory_order_relaxed)) return;
        if (auto self = weak.lock()) self->OnChange();
      });
  {
    absl::MutexLock lock(&pump->mu_);
    pump->listener_id_ = id;
  }
  pump->thread_ = std::thread(&FeedPump::Run, std::weak_ptr<FeedPump>(pump));
  return pump;
}

FeedPump::~FeedPump() { Stop(); }

bool FeedPump::Add(const std::shared_ptr<FeedReader>& reader) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  if (readers_.insert_or_assign(reader.get(), reader).second && reader->latency_sensitive()) {
    ++latency_sensitive_readers_;
  }
  return true;
}

void FeedPump::Remove(const FeedReader* reader) {
  absl::MutexLock lock(&mu_);
  // The reader is alive (its owner calls this), so asking it is safe.
  if (readers_.erase(reader) > 0 && reader->latency_sensitive()) --latency_sensitive_readers_;
}

size_t FeedPump::size() const {
  absl::MutexLock lock(&mu_);
  return readers_.size();
}

void FeedPump::Schedule(std::shared_ptr<FeedReader> reader) {
  absl::MutexLock lock(&mu_);
  if (!stopping_) scheduled_.push_back(std::move(reader));
}

void FeedPump::OnChange() {
  std::vector<std::shared_ptr<FeedReader>> here;
  if (pacing_.max_inline_readers > 0) {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (readers_.size() <= pacing_.max_inline_readers) {
      for (const auto& [raw, weak] : readers_) {
        if (auto reader = weak.lock()) here.push_back(std::move(reader));
      }
    }
  }
  if (here.empty()) {
    if (changed_->exchange(true)) return;  // the thread is woken already
    Wake();
    return;
  }
  for (const auto& reader : here) {
    if (reader->Pump()) Schedule(reader);
  }
}

void FeedPump::Wake() {
  // Releasing mu_ re-evaluates the condition the pump's thread waits on.
  absl::MutexLock lock(&mu_);
}

void FeedPump::Run(const std::weak_ptr<FeedPump>& weak) {
  // A strong reference only while running a batch, so that the pump can go
  // away between batches (if its owner drops it without Stop(), this ends).
  for (;;) {
    std::shared_ptr<FeedPump> self = weak.lock();
    if (self == nullptr || !self->RunBatch()) return;
  }
}

bool FeedPump::RunBatch() {
  std::vector<std::shared_ptr<FeedReader>> batch;
  {
    absl::MutexLock lock(&mu_);
    // Rate-limit batches: wait out the rest of the interval (only a stop
    // ends it early), so records accepted meanwhile join this batch.
    const absl::Duration interval =
        latency_sensitive_readers_ > 0 ? pacing_.min_interval : pacing_.background_interval;
    mu_.AwaitWithDeadline(absl::Condition(&stopping_), last_batch_ + interval);
    mu_.Await(absl::Condition(this, &FeedPump::HasWorkLocked));
    last_batch_ = absl::Now();
    if (stopping_) return false;
    if (changed_->exchange(false)) {
      // Everyone reads; that covers the scheduled ones too.
      scheduled_.clear();
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

void FeedPump::Stop() {
  int64_t listener_id;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    listener_id = listener_id_;
    scheduled_.clear();
  }
  notifier_.remove(listener_id);
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
