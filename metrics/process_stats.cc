#include "metrics/process_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

namespace herd {

std::optional<ProcessStats> ReadProcessStats() {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat;
  if (!std::getline(stat_file, stat)) return std::nullopt;
  // Fields after the command name, which is in parentheses and may hold spaces.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  ProcessStats stats;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // Field 3 (state) is the first here; utime is 14, stime 15, starttime 22,
  // rss 24 (man 5 proc).
  double boot_ticks = 0;
  for (int number = 3; number <= 24 && fields >> field; ++number) {
    if (number == 14 || number == 15) stats.cpu_seconds += std::stod(field) / ticks;
    if (number == 22) boot_ticks = std::stod(field);
    if (number == 24) stats.resident_bytes = static_cast<uint64_t>(std::stod(field) * page);
  }
  // starttime is in ticks since boot: boot time from /proc/stat's btime.
  std::ifstream system_stat("/proc/stat");
  for (std::string line; std::getline(system_stat, line);) {
    if (line.rfind("btime ", 0) == 0) {
      stats.start_time_seconds = std::stod(line.substr(6)) + boot_ticks / ticks;
      break;
    }
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    uint64_t count = 0;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    closedir(dir);
    stats.open_fds = count - 1;  // not the one opendir holds
  }
  return stats;
}

}  // namespace herd
