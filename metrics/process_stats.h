#ifndef HERD_METRICS_PROCESS_STATS_H_
#define HERD_METRICS_PROCESS_STATS_H_

#include <cstdint>
#include <optional>

namespace herd {

// What /proc/self says about this process now: CPU seconds (user + system),
// resident memory and open file descriptors. Read at scrape time only.
struct ProcessStats {
  double cpu_seconds = 0;
  uint64_t resident_bytes = 0;
  uint64_t open_fds = 0;
  double start_time_seconds = 0;  // since the epoch
};

// Nothing if /proc is not there (not Linux, or not mounted).
std::optional<ProcessStats> ReadProcessStats();

}  // namespace herd

#endif  // HERD_METRICS_PROCESS_STATS_H_
