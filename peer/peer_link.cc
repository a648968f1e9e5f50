#include "peer/peer_link.h"

#include <utility>

#include "peer/flood_call.h"

namespace herd {

PeerLink::PeerLink(std::string neighbour, std::shared_ptr<grpc::Channel> channel,
                   const LinkContext* context, asio::any_io_executor executor)
    : neighbour_(std::move(neighbour)),
      channel_(std::move(channel)),
      stub_(v1::Peer::NewStub(channel_)),
      context_(context),
      retry_timer_(asio::make_strand(executor)),
      wake_timer_(retry_timer_.get_executor()),
      backoff_(context->min_backoff) {
  stats_.neighbour = neighbour_;
}

void PeerLink::Start() { StartCall(); }

void PeerLink::StartCall() {
  std::shared_ptr<FloodCall> call;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || call_ != nullptr) return;
    call = std::make_shared<FloodCall>(this, context_);
    call_ = call;
    ++live_calls_;
  }
  call->Begin(stub_.get());
}

void PeerLink::Wake() {
  std::shared_ptr<FloodCall> call;
  {
    absl::MutexLock lock(&mu_);
    call = call_;
  }
  if (call != nullptr) call->Pump();
}

void PeerLink::WakeAt(std::chrono::steady_clock::time_point when) {
  asio::post(wake_timer_.get_executor(), [weak = weak_from_this(), when] {
    auto self = weak.lock();
    if (self == nullptr) return;
    self->wake_timer_.expires_at(when);
    self->wake_timer_.async_wait([weak](const boost::system::error_code& ec) {
      auto link = weak.lock();
      if (!ec && link != nullptr) link->Wake();
    });
  });
}

void PeerLink::DropStream() {
  std::shared_ptr<FloodCall> call;
  {
    absl::MutexLock lock(&mu_);
    call = call_;
  }
  if (call != nullptr) call->Cancel();
}

void PeerLink::Redial() {
  bool between_calls;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || stats_.connected) return;
    between_calls = call_ == nullptr;
  }
  // A call waiting for the channel to be ready tries again at once...
  grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
  if (!between_calls) return;
  // ...and a link waiting to open its next call opens it now.
  asio::post(retry_timer_.get_executor(), [weak = weak_from_this()] {
    auto self = weak.lock();
    if (self == nullptr) return;
    self->retry_timer_.cancel();
    self->StartCall();
  });
}

void PeerLink::Stop() {
  std::shared_ptr<FloodCall> call;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    call = call_;
  }
  asio::post(retry_timer_.get_executor(), [weak = weak_from_this()] {
    auto self = weak.lock();
    if (self == nullptr) return;
    self->retry_timer_.cancel();
    self->wake_timer_.cancel();
  });
  if (call != nullptr) call->Cancel();
}

void PeerLink::AwaitStopped() {
  absl::MutexLock lock(&mu_);
  const auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return live_calls_ == 0; };
  // A cancelled call ends promptly; until it is gone, it uses this link,
  // so the wait has no deadline.
  while (!mu_.AwaitWithTimeout(absl::Condition(&stopped), absl::Seconds(5))) {
    context_->log->Warn("peer {}: still waiting for the cancelled stream to end", neighbour_);
  }
}

LinkSnapshot PeerLink::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void PeerLink::OnConnected(const std::optional<Store::Cursor>& resume) {
  const bool resumed = resume.has_value();
  // What this stream must send to catch up (the neighbour's own records
  // included, which it then skips): shown in Admin/Status and the log.
  const uint64_t catch_up = context_->store->CountAfter(resume.value_or(Store::Cursor{}), SIZE_MAX);
  {
    absl::MutexLock lock(&mu_);
    stats_.catch_up_records = catch_up;
    stats_.resumed = resumed;
    // The neighbour's resume point is an acknowledgement: without this, a
    // stream that dropped between applying a batch and acking it would
    // leave the backlog figure stale until the next record flows.
    stats_.acked = resume;
    if (stats_.connected_since != std::chrono::system_clock::time_point()) {
      ++stats_.reconnects;
    }
    stats_.connected = true;
    stats_.connected_since = std::chrono::system_clock::now();
    backoff_ = context_->min_backoff;
  }
  context_->log->Info("peer {}: connected, {} ({} records on reconnect)", neighbour_,
                      resumed ? "sending what it missed since its resume point"
                              : "sending the full state",
                      catch_up);
}

void PeerLink::OnSent(size_t records, size_t fences) {
  absl::MutexLock lock(&mu_);
  stats_.records_sent += records;
  stats_.fences_sent += fences;
}

void PeerLink::OnAcked(const Store::Cursor& cursor) {
  absl::MutexLock lock(&mu_);
  stats_.acked = cursor;
}

void PeerLink::OnCallDone(const FloodCall* call, const grpc::Status& status, bool was_connected) {
  std::shared_ptr<FloodCall> ended;  // released outside the lock (it may be the last reference)
  std::chrono::milliseconds delay;
  {
    absl::MutexLock lock(&mu_);
    if (call_.get() == call) ended = std::move(call_);
    if (was_connected) stats_.disconnected_at = std::chrono::system_clock::now();
    stats_.connected = false;
    stats_.last_error = status.error_message();
    if (stopping_) return;
    delay = was_connected ? context_->min_backoff : backoff_;
    if (!was_connected) backoff_ = std::min(backoff_ * 2, context_->max_backoff);
  }
  if (was_connected || status.error_code() != grpc::StatusCode::CANCELLED) {
    context_->log->Warn("peer {}: stream dropped: {} ({}); retrying in {} ms", neighbour_,
                        status.error_message(), static_cast<int>(status.error_code()),
                        delay.count());
  }
  ScheduleRetry(delay);
}

void PeerLink::OnCallDestroyed() {
  absl::MutexLock lock(&mu_);
  --live_calls_;
}

void PeerLink::ScheduleRetry(std::chrono::milliseconds delay) {
  asio::post(retry_timer_.get_executor(), [weak = weak_from_this(), delay] {
    auto self = weak.lock();
    if (self == nullptr) return;
    self->retry_timer_.expires_after(delay);
    self->retry_timer_.async_wait([weak](const boost::system::error_code& ec) {
      auto link = weak.lock();
      if (!ec && link != nullptr) link->StartCall();
    });
  });
}

}  // namespace herd
