#include "store/packed_record.h"

#include <cstring>
#include <new>

namespace herd {

PackedRecord::Ptr PackedRecord::Make(const RecordView& record, uint32_t source,
                                     uint64_t seq) {
  const size_t size = record.client_id.size() + record.origin.size() + record.skew.size() +
                      record.location.size() + record.client_time.size();
  void* block = std::malloc(sizeof(PackedRecord) + size);
  if (block == nullptr) throw std::bad_alloc();
  Ptr packed(new (block) PackedRecord);
  packed->seq_ = seq;
  packed->source_ = source;
  packed->client_id_size_ = static_cast<uint16_t>(record.client_id.size());
  packed->origin_size_ = static_cast<uint8_t>(record.origin.size());
  packed->skew_size_ = static_cast<uint8_t>(record.skew.size());
  packed->location_size_ = static_cast<uint16_t>(record.location.size());
  packed->client_time_size_ = static_cast<uint16_t>(record.client_time.size());
  char* out = packed->data_;
  for (std::string_view field :
       {record.client_id, record.origin, record.skew, record.location, record.client_time}) {
    std::memcpy(out, field.data(), field.size());
    out += field.size();
  }
  return packed;
}

Record PackedRecord::ToRecord() const {
  return Record{std::string(client_id()), std::string(origin()), std::string(skew()),
                std::string(location()), std::string(client_time())};
}

bool Supersedes(const RecordView& candidate, const PackedRecord& current) {
  return SupersedesFields(candidate.client_time, candidate.origin, candidate.location,
                          candidate.skew, current.client_time(), current.origin(),
                          current.location(), current.skew());
}

}  // namespace herd
