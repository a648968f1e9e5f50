#ifndef HERD_COMMON_WRITE_GATE_H_
#define HERD_COMMON_WRITE_GATE_H_

#include <optional>
#include <utility>

namespace herd {

// The bookkeeping of a stream that keeps at most one write in flight and
// ends only when no write is in flight: every gRPC reactor of the herd (the
// peers' Flood calls both ways, Locations.Watch) has exactly this rule,
// because gRPC allows one outstanding write and a Finish (or, on a client,
// the release of the last hold) must not overtake it.
//
// The gate decides; the reactor acts on its answers, outside its lock:
//   BeginWrite() true      -> StartWrite(...)
//   End(s) / WriteDone()   -> a status: Finish(status) (exactly once)
// `Status` is what the stream ends with (grpc::Status on a server; a client
// that only needs to know when, any empty type).
//
// Not thread-safe: it is the state a reactor guards with its own mutex.
template <typename Status>
class WriteGate {
 public:
  // True if a write may start now (none in flight, not ending); the caller
  // must then start it. False while a write is in flight or once ending.
  bool BeginWrite() {
    if (writing_ || ending_) return false;
    writing_ = true;
    return true;
  }

  // The write in flight completed. If the stream is ending, the status to
  // finish with now (once).
  std::optional<Status> WriteDone() {
    writing_ = false;
    return ending_ ? TakeFinish() : std::nullopt;
  }

  // Ends the stream with `status` (the first status given wins). Returns
  // the status to finish with now if no write is in flight; otherwise
  // WriteDone() returns it when the write completes.
  std::optional<Status> End(Status status) {
    if (!ending_) {
      ending_ = true;
      status_ = std::move(status);
    }
    return writing_ ? std::nullopt : TakeFinish();
  }

  bool writing() const { return writing_; }
  bool ending() const { return ending_; }

 private:
  std::optional<Status> TakeFinish() {
    if (finished_) return std::nullopt;
    finished_ = true;
    return status_;
  }

  bool writing_ = false;
  bool ending_ = false;
  bool finished_ = false;
  Status status_{};
};

}  // namespace herd

#endif  // HERD_COMMON_WRITE_GATE_H_
