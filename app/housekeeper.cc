#include "app/housekeeper.h"

#include <algorithm>
#include <utility>

#include "absl/time/time.h"

namespace herd {

void Housekeeper::Add(std::chrono::milliseconds interval, Task task) {
  entries_.push_back({interval, std::move(task), std::chrono::steady_clock::now() + interval});
}

void Housekeeper::Start() {
  if (entries_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void Housekeeper::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Housekeeper::Loop() {
  for (;;) {
    auto next = entries_.front().next;
    for (const Entry& entry : entries_) next = std::min(next, entry.next);
    {
      absl::MutexLock lock(&mu_);
      const auto wait = std::max(next - std::chrono::steady_clock::now(),
                                 std::chrono::steady_clock::duration::zero());
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(wait));
      if (stopping_) return;
    }
    const auto now = std::chrono::steady_clock::now();
    for (Entry& entry : entries_) {
      if (entry.next > now) continue;
      entry.task();
      entry.next = std::chrono::steady_clock::now() + entry.interval;
    }
  }
}

}  // namespace herd
