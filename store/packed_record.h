#ifndef HERD_STORE_PACKED_RECORD_H_
#define HERD_STORE_PACKED_RECORD_H_

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "store/record.h"

namespace herd {

// A stored record in one heap block: a small header (feed sequence number,
// interned source, field lengths) followed by the bytes of its five fields.
// The numeric fields (time difference, location, client time) are kept two
// characters per byte when they hold only digits, signs and dots, as they do
// whenever the edge or a peer accepted them. A typical record takes 80 bytes
// of heap, against ~400 for five std::strings in a node map: the store holds
// millions of these.
//
// Changed only by Assign (a new version in the same block) and set_moved,
// both under the owning shard's lock. Not thread-safe by itself.
class PackedRecord {
 public:
  struct Free {
    void operator()(PackedRecord* record) const { std::free(record); }
  };
  using Ptr = std::unique_ptr<PackedRecord, Free>;

  // Room for the text of a record's numeric fields while it is viewed.
  struct Scratch {
    char text[2 * kMaxNumberBytes + 256];
  };

  // Whether `record`'s fields fit a PackedRecord: origin and skew under 256
  // bytes, location and client time at most kMaxNumberBytes (a Scratch holds
  // them), the client id under 64 KiB. IsWellFormedRecord guarantees less.
  static bool Fits(const RecordView& record);

  // REQUIRES: Fits(record); checked: std::length_error if not.
  static Ptr Make(const RecordView& record, uint32_t source, uint64_t seq);
  // Makes *target hold `record`, in *target's block when it fits (a
  // client's reports are mostly the same size). If memory runs out
  // (std::bad_alloc) or the record does not fit (std::length_error),
  // *target is left as it was.
  // REQUIRES: Fits(record); `record` does not point into *target.
  // `location_changed` (optional) tells whether the new location differs
  // from *target's (true when *target was empty).
  static void Assign(const RecordView& record, uint32_t source, uint64_t seq, Ptr* target,
                     bool* location_changed = nullptr);

  std::string_view client_id() const { return std::string_view(data_, client_id_size_); }
  std::string_view origin() const {
    return std::string_view(data_ + client_id_size_, origin_size_);
  }
  // All five fields, the numeric ones unpacked into `scratch` (the view is
  // valid while both the record and `scratch` are).
  RecordView View(Scratch* scratch) const;
  // One field alone, unpacked into `scratch` if need be.
  std::string_view Location(Scratch* scratch) const { return Numeric(kLocation, scratch); }
  std::string_view ClientTime(Scratch* scratch) const { return Numeric(kClientTime, scratch); }

  // The store's move-tracking mark (see Store::ClaimMoveTracking). It may
  // change on a const record: the store's shard lock guards it.
  bool moved() const { return (flags_ & kMovedFlag) != 0; }
  void set_moved(bool moved) const { flags_ = moved ? flags_ | kMovedFlag : flags_ & ~kMovedFlag; }

  uint64_t seq() const { return seq_; }
  uint32_t source() const { return source_; }

  Record ToRecord() const;

 private:
  // The numeric fields, in their order in data_; bit i of flags_ is set
  // when field i is stored two characters per byte.
  enum NumericField { kSkew, kLocation, kClientTime, kNumericFields };
  static constexpr uint8_t kMovedFlag = 0x80;

  PackedRecord() = default;
  static constexpr uint8_t kAllNumericFields = (1 << kNumericFields) - 1;
  // Records up to this size (all well-formed ones) are packed on the stack
  // first, then copied into place.
  static constexpr size_t kMaxStagedBytes = 4096;

  // `record`'s numeric fields, in NumericField order.
  static std::array<std::string_view, kNumericFields> NumericFields(const RecordView& record) {
    return {record.skew, record.location, record.client_time};
  }
  // Which numeric fields of `record` pack (as bits of flags_).
  static uint8_t PackableFields(const RecordView& record);
  // The bytes `record` takes with the fields flagged in `packed` packed.
  static size_t BytesFor(const RecordView& record, uint8_t packed);
  // Writes `record` into this block (at least BytesFor large); false if a
  // field flagged in `packed` does not pack (the block is then garbage).
  // REQUIRES: Fits(record), so no size is cut to its header field.
  bool Fill(const RecordView& record, uint8_t packed, uint32_t source, uint64_t seq);
  size_t TextSize(NumericField field) const;
  std::string_view Numeric(NumericField field, Scratch* scratch) const;
  // A field's bytes as stored (packed or not).
  std::string_view Stored(NumericField field) const;
  // Whether two records hold the same location, compared as stored.
  static bool SameLocation(const PackedRecord& a, const PackedRecord& b);
  size_t StoredSize(NumericField field) const;

  uint64_t seq_;
  uint32_t source_;
  uint16_t client_id_size_;
  uint16_t location_size_;
  uint16_t client_time_size_;
  uint8_t origin_size_;
  uint8_t skew_size_;
  mutable uint8_t flags_;  // which fields are packed, and kMovedFlag
  char data_[];            // the fields, back to back
};

// Whether `candidate` supersedes a stored record (see Supersedes in record.h).
bool Supersedes(const RecordView& candidate, const PackedRecord& current);

}  // namespace herd

#endif  // HERD_STORE_PACKED_RECORD_H_
