#ifndef HERD_COMMON_SERVER_METRICS_H_
#define HERD_COMMON_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/metric_cells.h"

namespace herd {

// The counters one server's code bumps as it works, read by the Prometheus
// exporter (metrics/) at scrape time. Plain sharded relaxed atomics: bumping
// one takes no lock and shares no cache line between threads. Gauges (open
// connections, clients, link state, backlog) are not here: the exporter reads
// them from the objects that own that state when it is scraped.
//
// Thread-safe. The per-neighbour map is filled before the server starts and
// never changes afterwards (lookups need no lock).
struct ServerMetrics {
  // Text commands by kind and outcome.
  enum CommandKind { kIamat, kWhatsat, kOther, kCommandKinds };
  enum CommandOutcome { kAccepted, kNotNewer, kAnswered, kInvalid, kCommandOutcomes };
  // Where a record offered to the store came from.
  enum Source { kEdge, kPeer, kApi, kSources };

  void CountCommand(CommandKind kind, CommandOutcome outcome) { commands[kind][outcome].Add(); }
  void CountRecord(Source source, bool accepted) {
    (accepted ? records_accepted : records_not_newer)[source].Add();
  }
  // What is counted per neighbour, for records received from it.
  struct Neighbour {
    // Now minus the record's receive time at its origin (client time plus
    // skew), for each record from this neighbour that this server accepted.
    LatencyHistogram propagation_lag;
    // When the last batch of records came (clock nanoseconds; 0: never).
    std::atomic<int64_t> last_received_ns{0};
  };
  // The counters of `name`, or null if it is not a configured neighbour.
  Neighbour* FindNeighbour(std::string_view name) {
    auto it = neighbours.find(name);
    return it == neighbours.end() ? nullptr : it->second.get();
  }

  // edge
  ShardedCounter connections_accepted;
  ShardedCounter connections_refused;
  std::array<std::array<ShardedCounter, kCommandOutcomes>, kCommandKinds> commands;
  // Time from a command's line being parsed to its reply being buffered.
  std::array<LatencyHistogram, 2> reply_latency;  // by kIamat, kWhatsat
  // store
  std::array<ShardedCounter, kSources> records_accepted;
  std::array<ShardedCounter, kSources> records_not_newer;
  // api: versions Watch streams reported as skipped (superseded unseen)
  ShardedCounter watch_skipped;
  // peers, by neighbour name
  std::map<std::string, std::unique_ptr<Neighbour>, std::less<>> neighbours;
};

}  // namespace herd

#endif  // HERD_COMMON_SERVER_METRICS_H_
