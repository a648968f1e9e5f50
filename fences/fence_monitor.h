#ifndef HERD_FENCES_FENCE_MONITOR_H_
#define HERD_FENCES_FENCE_MONITOR_H_

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "fences/fence_book.h"
#include "store/record.h"

namespace herd {

// Where a server's fence events go: its Watch streams' feed and its webhook
// sender. Each is called on the reporting thread and must not block.
using FenceEventSink = std::function<void(const std::vector<FiredEvent>& events)>;

// The one step both origins of a record (an IAMAT on the edge, a Report on
// the gRPC API) take after the store accepted it: the fences it fires, handed
// to the sinks. Events fire only here, at the server that accepted the
// client's own report, so each fires once for the herd.
//
// The caller asks armed() first and, only then, has the store hand back the
// record it replaced: a server without fences pays one relaxed load.
//
// Thread-safe: constant after construction; FenceBook and the sinks are.
class FenceMonitor {
 public:
  // REQUIRES: `book` outlives the monitor. `nearby` answers roaming fences.
  FenceMonitor(const FenceBook* book, FenceBook::NearbyLookup nearby,
               std::vector<FenceEventSink> sinks)
      : book_(book), nearby_(std::move(nearby)), sinks_(std::move(sinks)) {}
  FenceMonitor(const FenceMonitor&) = delete;
  FenceMonitor& operator=(const FenceMonitor&) = delete;

  // Whether any fence exists, so a report must be checked.
  bool armed() const { return book_->has_fences(); }

  // `record` (a client of this server's, just accepted) replaced `previous`
  // (none: a new client).
  void OnAccepted(const RecordView& record, const std::optional<Record>& previous) const;

 private:
  const FenceBook* const book_;
  const FenceBook::NearbyLookup nearby_;
  const std::vector<FenceEventSink> sinks_;
};

}  // namespace herd

#endif  // HERD_FENCES_FENCE_MONITOR_H_
