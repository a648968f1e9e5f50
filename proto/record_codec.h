#ifndef HERD_PROTO_RECORD_CODEC_H_
#define HERD_PROTO_RECORD_CODEC_H_

// The one mapping between a record's five fields and herd.v1.Record, for the
// peers' Flood stream and the Locations API alike (so a field added to the
// message is one edit). proto/ sits beside store/, not above it (docs
// ARCHITECTURE.md), so it names no store type: `R` is any aggregate with the
// five fields of herd::Record (store/record.h), in its order: std::string,
// or std::string_view for a view into the message (Record::View).
// Checking the fields is the caller's: a peer's records are checked with
// IsWellFormedRecord. Pure functions, thread-safe.

#include <string>
#include <string_view>

#include "herd/v1/herd.pb.h"

namespace herd {

// Assigns in place: a reused message keeps its strings' capacity.
template <typename R>
void ToProto(const R& record, v1::Record* out) {
  const auto assign = [](std::string* field, std::string_view value) {
    field->assign(value.data(), value.size());
  };
  assign(out->mutable_client_id(), record.client_id);
  assign(out->mutable_origin(), record.origin);
  assign(out->mutable_skew(), record.skew);
  assign(out->mutable_location(), record.location);
  assign(out->mutable_client_time(), record.client_time);
}

// The fields as they are on the wire, unchecked.
template <typename R>
R RecordFieldsFromProto(const v1::Record& record) {
  return R{record.client_id(), record.origin(), record.skew(), record.location(),
           record.client_time()};
}

}  // namespace herd

#endif  // HERD_PROTO_RECORD_CODEC_H_
