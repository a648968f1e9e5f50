#ifndef HERD_API_STREAM_PLACES_H_
#define HERD_API_STREAM_PLACES_H_

#include <atomic>
#include <cstddef>
#include <memory>

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

}  // namespace herd

#endif  // HERD_API_STREAM_PLACES_H_
