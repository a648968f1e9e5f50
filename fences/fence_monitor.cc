#include "fences/fence_monitor.h"

namespace herd {

void FenceMonitor::OnAccepted(const RecordView& record,
                              const std::optional<Record>& previous) const {
  // One buffer per thread: reports that fire nothing allocate nothing.
  thread_local std::vector<FiredEvent> events;
  events.clear();
  if (previous.has_value()) {
    const RecordView before = previous->view();
    book_->Detect(record, &before, nearby_, &events);
  } else {
    book_->Detect(record, nullptr, nearby_, &events);
  }
  if (events.empty()) return;
  for (const FenceEventSink& sink : sinks_) sink(events);
}

}  // namespace herd
