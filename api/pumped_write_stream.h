#ifndef HERD_API_PUMPED_WRITE_STREAM_H_
#define HERD_API_PUMPED_WRITE_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "api/feed_pump.h"
#include "common/write_gate.h"

namespace herd {

// The plumbing of a Watch stream (a gRPC server write reactor) that a
// FeedPump runs over some feed: one write in flight; each completed write
// reads on, and when the feed is drained the stream waits for the pump. A
// slow or stalled reader therefore holds one message and its cursor, never
// a queue. A subclass says what the next message holds (FillLocked), from a
// cursor of its own guarded by mu_.
//
// Thread-safe: Pump() and Close() may be called from any thread. Owns
// itself (a self reference released in OnDone); the pump holds it weakly.
template <typename Response>
class PumpedWriteStream : public grpc::ServerWriteReactor<Response>,
                          public FeedReader,
                          public std::enable_shared_from_this<PumpedWriteStream<Response>> {
 public:
  PumpedWriteStream(const PumpedWriteStream&) = delete;
  PumpedWriteStream& operator=(const PumpedWriteStream&) = delete;

  // Registers with the pump and sends what there is. Call once, from the
  // Watch handler.
  void Begin() {
    self_ = this->shared_from_this();
    if (!pump_->Add(self_)) {
      Close();
      return;
    }
    // After Add: whatever changes the feed from now on wakes us, and this
    // read sees everything before.
    if (Pump()) pump_->Schedule(self_);
  }

  bool Pump() final {
    Response* message = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (gate_.writing() || gate_.ending()) return false;
      // A fresh message, not Clear(): a cleared one keeps every sub-message
      // it ever held allocated.
      Response().Swap(&response_);
      bool run_again = false;
      if (!FillLocked(&response_, &run_again)) return run_again;
      gate_.BeginWrite();
      message = &response_;
    }
    this->StartWrite(message);
    return false;
  }

  bool latency_sensitive() const override { return true; }

  // Ends the stream with UNAVAILABLE (the server is shutting down) as soon
  // as no write is in flight.
  void Close() override {
    End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
  }

 protected:
  // `ticket` is held until the stream is done (a place among the server's
  // Watch streams).
  PumpedWriteStream(std::shared_ptr<FeedPump> pump, std::shared_ptr<void> ticket)
      : pump_(std::move(pump)), ticket_(std::move(ticket)) {}

  // Fills `message` (empty) with what the feed holds next for this stream;
  // false if there is nothing to send, with *run_again set if the stream
  // stopped with feed left to read (it is then run again soon rather than
  // at the next change).
  virtual bool FillLocked(Response* message, bool* run_again)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;

  absl::Mutex mu_;

 private:
  void OnWriteDone(bool ok) override {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      finish = gate_.WriteDone();
    }
    if (finish) {
      this->Finish(*finish);
    } else if (!ok) {
      End(grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke"));
    } else if (Pump()) {
      pump_->Schedule(this->shared_from_this());
    }
  }

  void OnCancel() override { End(grpc::Status::CANCELLED); }

  void OnDone() override {
    pump_->Remove(this);
    {
      absl::MutexLock lock(&mu_);
      Response().Swap(&response_);  // freed now, not with the last reference
    }
    ticket_.reset();
    auto last_reference = std::move(self_);  // may delete this on return
  }

  // Ends the stream with `status` (the first one given wins) as soon as no
  // write is in flight.
  void End(grpc::Status status) {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      finish = gate_.End(std::move(status));
    }
    if (finish) this->Finish(*finish);
  }

  // Constant after construction.
  const std::shared_ptr<FeedPump> pump_;

  std::shared_ptr<PumpedWriteStream> self_;  // keeps the reactor alive until OnDone
  std::shared_ptr<void> ticket_;             // released in OnDone

  Response response_ ABSL_GUARDED_BY(mu_);  // the one write in flight
  WriteGate<grpc::Status> gate_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_API_PUMPED_WRITE_STREAM_H_
