#ifndef HERD_PEER_RECORD_CODEC_H_
#define HERD_PEER_RECORD_CODEC_H_

// Conversions between store types and their herd.v1 messages. Everything from
// the wire is checked: a peer is trusted to be a configured neighbour, not to
// send well-formed data. Records map to herd.v1.Record with proto/'s codec
// (ToProto there). Pure functions, thread-safe.

#include <optional>

#include "herd/v1/herd.pb.h"
#include "proto/record_codec.h"
#include "store/record.h"
#include "store/store.h"

namespace herd {

// The record if every field is well formed (IsWellFormedRecord).
std::optional<Record> FromProto(const v1::Record& record);

// The same check without a copy: a view of `record`'s fields, valid while
// `record` is.
std::optional<RecordView> ViewOf(const v1::Record& record);

void ToProto(const Store::Cursor& cursor, v1::FeedCursor* out);

// The cursor if it has one position per store shard.
std::optional<Store::Cursor> FromProto(const v1::FeedCursor& cursor);

}  // namespace herd

#endif  // HERD_PEER_RECORD_CODEC_H_
