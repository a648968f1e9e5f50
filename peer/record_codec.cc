#include "peer/record_codec.h"

namespace herd {

void ToProto(const Record& record, v1::Record* out) {
  out->set_client_id(record.client_id);
  out->set_origin(record.origin);
  out->set_skew(record.skew);
  out->set_location(record.location);
  out->set_client_time(record.client_time);
}

std::optional<Record> FromProto(const v1::Record& record) {
  Record out{record.client_id(), record.origin(), record.skew(), record.location(),
             record.client_time()};
  if (!IsWellFormedRecord(out)) return std::nullopt;
  return out;
}

std::optional<RecordView> ViewOf(const v1::Record& record) {
  RecordView view{record.client_id(), record.origin(), record.skew(), record.location(),
                  record.client_time()};
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
