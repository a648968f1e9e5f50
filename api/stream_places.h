#ifndef HERD_API_STREAM_PLACES_H_
#define HERD_API_STREAM_PLACES_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "api/caller_limiter.h"
#include "common/strings.h"

namespace herd {

// A fixed number of places for a service's long-lived streams (its Watch
// calls). A stream takes a place before it starts, atomically, so two
// calls arriving together can never both take the last one; dropping the
// ticket (when the stream is done, on any thread) gives the place back.
//
// Thread-safe. Tickets may outlive the owner of this object.
class StreamPlaces {
 public:
  explicit StreamPlaces(size_t max) : max_(max) {}
  StreamPlaces(const StreamPlaces&) = delete;
  StreamPlaces& operator=(const StreamPlaces&) = delete;

  // A ticket holding one place, or null if all `max` are taken.
  std::shared_ptr<void> TryTake() {
    size_t taken = taken_->load();
    do {
      if (taken >= max_) return nullptr;
    } while (!taken_->compare_exchange_weak(taken, taken + 1));
    // Never null (null means refused); the deleter gives the place back.
    return std::shared_ptr<void>(taken_.get(), [count = taken_](void*) { count->fetch_sub(1); });
  }

  size_t taken() const { return taken_->load(); }
  size_t max() const { return max_; }

 private:
  const size_t max_;
  // Shared with the tickets, which may outlive this object.
  const std::shared_ptr<std::atomic<size_t>> taken_ = std::make_shared<std::atomic<size_t>>(0);
};

// One more `streams` stream (e.g. "Fences.Watch") from gRPC peer `peer`:
// a place among `places` and one among `callers` for its address, held
// together by the ticket returned; or RESOURCE_EXHAUSTED naming the limit
// reached, and nothing taken.
inline absl::StatusOr<std::shared_ptr<void>> TakeStreamPlace(StreamPlaces& places,
                                                             CallerLimiter& callers,
                                                             std::string_view peer,
                                                             std::string_view streams) {
  std::shared_ptr<void> place = places.TryTake();
  if (place == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many ", AsAbsl(streams), " streams on this server (", places.max(), ")"));
  }
  const std::string caller = CallerLimiter::AddressOf(peer);
  std::shared_ptr<void> caller_place = callers.TryAcquire(caller);
  if (caller_place == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("too many ", AsAbsl(streams), " streams from ",
                                                     caller, " (", callers.max_per_caller(), ")"));
  }
  return std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(
      std::move(place), std::move(caller_place));
}

}  // namespace herd

#endif  // HERD_API_STREAM_PLACES_H_
