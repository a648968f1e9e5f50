#include "fences/fence_event.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "proto/record_codec.h"

namespace herd {

std::string FenceEventId(std::string_view server, uint64_t epoch, uint64_t number) {
  return absl::StrCat(AsAbsl(server), "-", absl::Hex(epoch, absl::kZeroPad16), "-", number);
}

void ToLocation(const RecordView& view, double latitude, double longitude, v1::Location* out) {
  const Record record = ToRecord(view);
  ToProto(record, out->mutable_record());
  out->set_latitude(latitude);
  out->set_longitude(longitude);
  out->set_at_line(record.AtLine());
}

void ToTimestamp(int64_t ns, google::protobuf::Timestamp* out) {
  constexpr int64_t kNsPerSecond = 1'000'000'000;
  int64_t seconds = ns / kNsPerSecond;
  int64_t nanos = ns % kNsPerSecond;
  if (nanos < 0) {
    nanos += kNsPerSecond;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(nanos));
}

}  // namespace herd
