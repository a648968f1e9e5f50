#include "peer/record_codec.h"

namespace herd {

std::optional<Record> FromProto(const v1::Record& record) {
  Record out = RecordFieldsFromProto<Record>(record);
  if (!IsWellFormedRecord(out)) return std::nullopt;
  return out;
}

std::optional<RecordView> ViewOf(const v1::Record& record) {
  RecordView view = RecordFieldsFromProto<RecordView>(record);
  if (!IsWellFormedRecord(view)) return std::nullopt;
  return view;
}

void ToProto(const Store::Cursor& cursor, v1::FeedCursor* out) {
  out->clear_seen();
  for (uint64_t seen : cursor.seen) out->add_seen(seen);
}

std::optional<Store::Cursor> FromProto(const v1::FeedCursor& cursor) {
  if (cursor.seen_size() != Store::kShards) return std::nullopt;
  Store::Cursor out;
  for (int s = 0; s < Store::kShards; ++s) out.seen[s] = cursor.seen(s);
  return out;
}

}  // namespace herd
