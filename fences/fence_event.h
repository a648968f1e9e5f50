#ifndef HERD_FENCES_FENCE_EVENT_H_
#define HERD_FENCES_FENCE_EVENT_H_

// Building herd.v1.FenceEvent messages: the one place that knows an event's
// id format and how a record becomes a herd.v1.Location (the same fields as
// the Locations API gives; fences/ sits below api/, so it has its own
// helper). Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "google/protobuf/timestamp.pb.h"
#include "herd/v1/fences.pb.h"
#include "store/record.h"

namespace herd {

// "<server>-<epoch as 16 hex digits>-<number>": unique in the herd as long
// as server names are, and epochs differ between a server's lifetimes.
std::string FenceEventId(std::string_view server, uint64_t epoch, uint64_t number);

// The record's fields, its position in degrees and its AT line.
void ToLocation(const RecordView& record, double latitude, double longitude, v1::Location* out);

// ns since the Unix epoch as a Timestamp (floored, so nanos is in [0, 1e9)).
void ToTimestamp(int64_t ns, google::protobuf::Timestamp* out);

}  // namespace herd

#endif  // HERD_FENCES_FENCE_EVENT_H_
