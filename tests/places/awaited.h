#ifndef HERD_TESTS_PLACES_AWAITED_H_
#define HERD_TESTS_PLACES_AWAITED_H_

#include <chrono>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace herd::testing {

// A value that some thread delivers once and the test waits for with a
// deadline (no sleeps). Counts deliveries, so "exactly once" can be checked.
// Thread-safe.
template <typename T>
class Awaited {
 public:
  void Set(T value) {
    absl::MutexLock l(&mu_);
    ++sets_;
    if (!value_) value_ = std::move(value);
  }

  // A callback that delivers here; `this` must outlive it.
  auto Setter() {
    return [this](T value) { Set(std::move(value)); };
  }

  // The value, once it came; nullopt after `timeout`.
  std::optional<T> Wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    absl::MutexLock l(&mu_);
    const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return value_.has_value(); };
    mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(timeout.count()));
    return value_;
  }

  bool ready() const {
    absl::MutexLock l(&mu_);
    return value_.has_value();
  }

  int sets() const {
    absl::MutexLock l(&mu_);
    return sets_;
  }

 private:
  mutable absl::Mutex mu_;
  std::optional<T> value_ ABSL_GUARDED_BY(mu_);
  int sets_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace herd::testing

#endif  // HERD_TESTS_PLACES_AWAITED_H_
