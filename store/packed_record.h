#ifndef HERD_STORE_PACKED_RECORD_H_
#define HERD_STORE_PACKED_RECORD_H_

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "store/record.h"

namespace herd {

// A stored record in one heap block: a small header (feed sequence number,
// interned source, field lengths) followed by the bytes of its five fields.
// About 80 bytes plus the client id, against ~400 for five std::strings in a
// node map: the store holds millions of these.
//
// Immutable after creation except for the sequence number (owned by the
// shard lock). Not thread-safe by itself.
class PackedRecord {
 public:
  struct Free {
    void operator()(PackedRecord* record) const { std::free(record); }
  };
  using Ptr = std::unique_ptr<PackedRecord, Free>;

  // REQUIRES: origin and skew under 256 bytes, the other fields under 64 KiB
  // (IsWellFormedRecord guarantees less).
  static Ptr Make(const RecordView& record, uint32_t source, uint64_t seq);

  std::string_view client_id() const { return Field(0, client_id_size_); }
  std::string_view origin() const { return Field(client_id_size_, origin_size_); }
  std::string_view skew() const { return Field(client_id_size_ + origin_size_, skew_size_); }
  std::string_view location() const {
    return Field(client_id_size_ + origin_size_ + skew_size_, location_size_);
  }
  std::string_view client_time() const {
    return Field(client_id_size_ + origin_size_ + skew_size_ + location_size_,
                 client_time_size_);
  }

  uint64_t seq() const { return seq_; }
  void set_seq(uint64_t seq) { seq_ = seq; }
  uint32_t source() const { return source_; }

  Record ToRecord() const;

 private:
  PackedRecord() = default;
  std::string_view Field(size_t offset, size_t size) const {
    return std::string_view(data_ + offset, size);
  }

  uint64_t seq_;
  uint32_t source_;
  uint16_t client_id_size_;
  uint16_t location_size_;
  uint16_t client_time_size_;
  uint8_t origin_size_;
  uint8_t skew_size_;
  char data_[];  // the fields, back to back
};

// Whether `candidate` supersedes a stored record (see Supersedes in record.h).
bool Supersedes(const RecordView& candidate, const PackedRecord& current);

}  // namespace herd

#endif  // HERD_STORE_PACKED_RECORD_H_
