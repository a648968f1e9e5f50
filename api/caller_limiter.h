#ifndef HERD_API_CALLER_LIMITER_H_
#define HERD_API_CALLER_LIMITER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace herd {

// Counts long-lived calls (Watch streams) per caller address against a cap,
// and in all. A call holds a ticket; dropping the ticket (when the stream is
// done, on any thread) gives its place back. Memory: one map entry per
// caller with an open call.
//
// Thread-safe. Tickets may outlive the limiter's owner (they share it).
class CallerLimiter : public std::enable_shared_from_this<CallerLimiter> {
 public:
  // `every_released` (may be null) is called, on the releasing thread and
  // without locks held, after each `release_batch` released tickets.
  CallerLimiter(size_t max_per_caller, size_t release_batch = 0,
                std::function<void()> every_released = nullptr)
      : max_per_caller_(max_per_caller),
        release_batch_(release_batch),
        every_released_(std::move(every_released)) {}
  CallerLimiter(const CallerLimiter&) = delete;
  CallerLimiter& operator=(const CallerLimiter&) = delete;

  // A ticket for one more call from `caller`, or null if it has
  // max_per_caller open already.
  std::shared_ptr<void> TryAcquire(std::string caller) {
    {
      absl::MutexLock lock(&mu_);
      size_t& open = open_[caller];
      if (open >= max_per_caller_) {
        if (open == 0) open_.erase(caller);
        return nullptr;
      }
      ++open;
    }
    auto self = shared_from_this();
    // Never null (null means refused); the deleter gives the place back.
    return std::shared_ptr<void>(
        this, [self, caller = std::move(caller)](void*) { self->Release(caller); });
  }

  size_t max_per_caller() const { return max_per_caller_; }

  // The address part of a gRPC peer string: "ipv4:127.0.0.1:5000" ->
  // "ipv4:127.0.0.1", "ipv6:[::1]:5000" -> "ipv6:[::1]".
  static std::string AddressOf(std::string_view peer) {
    const size_t colon = peer.rfind(':');
    const size_t first = peer.find(':');
    if (colon == std::string_view::npos || colon == first) return std::string(peer);
    return std::string(peer.substr(0, colon));
  }

 private:
  void Release(const std::string& caller) {
    bool batch_done = false;
    {
      absl::MutexLock lock(&mu_);
      if (++released_ == release_batch_) {
        released_ = 0;
        batch_done = true;
      }
      const auto it = open_.find(caller);
      if (it != open_.end() && --it->second == 0) open_.erase(it);
    }
    if (batch_done && every_released_) every_released_();
  }

  const size_t max_per_caller_;
  const size_t release_batch_;
  const std::function<void()> every_released_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, size_t> open_ ABSL_GUARDED_BY(mu_);
  size_t released_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace herd

#endif  // HERD_API_CALLER_LIMITER_H_
