#ifndef HERD_EDGE_EDGE_OPTIONS_H_
#define HERD_EDGE_EDGE_OPTIONS_H_

// The edge's options on their own (no Asio), so the config (app/config.cc)
// parses its "edge" object straight into them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "store/record.h"

namespace herd {

class DurableMark;
class FenceMonitor;
struct ServerMetrics;

struct EdgeOptions {
  std::string server_name;
  size_t max_line_bytes = 8 << 10;
  size_t max_connections = 10'000;
  std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);
  // An IAMAT whose client time is further ahead of the server's clock is
  // invalid (it would freeze its client: nothing honest is newer).
  int64_t max_future_s = kDefaultMaxFutureSeconds;
  // A line must end this long after its first byte (like nginx's
  // client_header_timeout), or the connection is closed.
  std::chrono::milliseconds line_timeout = std::chrono::seconds(30);
  // Open connections from one client address (like nginx's limit_conn).
  size_t max_connections_per_ip = 0;  // 0: no cap
  ServerMetrics* metrics = nullptr;   // counters to bump; null: none
  // With a data_dir: an IAMAT's reply waits until its record is durable
  // (the coroutine suspends; the thread goes on). Null: memory only.
  DurableMark* durable = nullptr;
  // Geofences: an accepted IAMAT is checked against them here, at its
  // origin. Null: none.
  const FenceMonitor* fences = nullptr;
};

}  // namespace herd

#endif  // HERD_EDGE_EDGE_OPTIONS_H_
