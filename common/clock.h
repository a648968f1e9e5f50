#ifndef HERD_COMMON_CLOCK_H_
#define HERD_COMMON_CLOCK_H_

#include <cstdint>
#include <functional>

namespace herd {

// Wall-clock time in nanoseconds since the POSIX epoch. Injected wherever the
// time matters to an answer (the AT line's time difference) so tests can fix it.
using Clock = std::function<int64_t()>;

// The real clock (CLOCK_REALTIME). Thread-safe.
int64_t RealTimeNanos();

}  // namespace herd

#endif  // HERD_COMMON_CLOCK_H_
