#include "store/packed_record.h"

#include <cstddef>
#include <cstring>
#include <new>

namespace herd {
namespace {

// The characters a numeric field is made of, each stored as a 4-bit code
// (its index here).
constexpr std::string_view kDigitAlphabet = "0123456789+-.";

constexpr int DigitCode(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c == '+') return 10;
  if (c == '-') return 11;
  if (c == '.') return 12;
  return -1;
}

bool CanPackDigits(std::string_view text) {
  for (char c : text) {
    if (DigitCode(c) < 0) return false;
  }
  return true;
}

size_t PackedSize(size_t chars) { return (chars + 1) / 2; }

// Two characters per byte, the first in the high half; an odd count leaves
// the last low half zero.
char* PackDigits(std::string_view text, char* out) {
  size_t i = 0;
  for (; i + 1 < text.size(); i += 2) {
    *out++ = static_cast<char>(DigitCode(text[i]) << 4 | DigitCode(text[i + 1]));
  }
  if (i < text.size()) *out++ = static_cast<char>(DigitCode(text[i]) << 4);
  return out;
}

void UnpackDigits(const char* in, size_t chars, char* out) {
  for (size_t i = 0; i < chars; ++i) {
    const auto byte = static_cast<unsigned char>(in[i / 2]);
    out[i] = kDigitAlphabet[i % 2 == 0 ? byte >> 4 : byte & 0xF];
  }
}

}  // namespace

PackedRecord::Ptr PackedRecord::Make(const RecordView& record, uint32_t source,
                                     uint64_t seq) {
  const std::string_view numeric[kNumericFields] = {record.skew, record.location,
                                                    record.client_time};
  uint8_t packed = 0;
  size_t size = record.client_id.size() + record.origin.size();
  for (int field = 0; field < kNumericFields; ++field) {
    if (CanPackDigits(numeric[field])) {
      packed |= 1 << field;
      size += PackedSize(numeric[field].size());
    } else {
      size += numeric[field].size();
    }
  }
  void* block = std::malloc(offsetof(PackedRecord, data_) + size);
  if (block == nullptr) throw std::bad_alloc();
  Ptr out(new (block) PackedRecord);
  out->seq_ = seq;
  out->source_ = source;
  out->client_id_size_ = static_cast<uint16_t>(record.client_id.size());
  out->origin_size_ = static_cast<uint8_t>(record.origin.size());
  out->skew_size_ = static_cast<uint8_t>(record.skew.size());
  out->location_size_ = static_cast<uint16_t>(record.location.size());
  out->client_time_size_ = static_cast<uint16_t>(record.client_time.size());
  out->packed_ = packed;
  char* data = out->data_;
  for (std::string_view raw : {record.client_id, record.origin}) {
    std::memcpy(data, raw.data(), raw.size());
    data += raw.size();
  }
  for (int field = 0; field < kNumericFields; ++field) {
    const std::string_view text = numeric[field];
    if (packed & (1 << field)) {
      data = PackDigits(text, data);
    } else {
      std::memcpy(data, text.data(), text.size());
      data += text.size();
    }
  }
  return out;
}

size_t PackedRecord::TextSize(NumericField field) const {
  switch (field) {
    case kSkew:
      return skew_size_;
    case kLocation:
      return location_size_;
    case kClientTime:
      return client_time_size_;
    case kNumericFields:
      break;
  }
  return 0;
}

size_t PackedRecord::StoredSize(NumericField field) const {
  return packed_ & (1 << field) ? PackedSize(TextSize(field)) : TextSize(field);
}

RecordView PackedRecord::View(Scratch* scratch) const {
  std::string_view text[kNumericFields];
  const char* stored = data_ + client_id_size_ + origin_size_;
  char* unpacked = scratch->text;
  for (int i = 0; i < kNumericFields; ++i) {
    const auto field = static_cast<NumericField>(i);
    const size_t size = TextSize(field);
    if (packed_ & (1 << field)) {
      UnpackDigits(stored, size, unpacked);
      text[field] = std::string_view(unpacked, size);
      unpacked += size;
    } else {
      text[field] = std::string_view(stored, size);
    }
    stored += StoredSize(field);
  }
  return RecordView{client_id(), origin(), text[kSkew], text[kLocation], text[kClientTime]};
}

Record PackedRecord::ToRecord() const {
  Scratch scratch;
  const RecordView view = View(&scratch);
  return Record{std::string(view.client_id), std::string(view.origin), std::string(view.skew),
                std::string(view.location), std::string(view.client_time)};
}

bool Supersedes(const RecordView& candidate, const PackedRecord& current) {
  PackedRecord::Scratch scratch;
  const RecordView stored = current.View(&scratch);
  return SupersedesFields(candidate.client_time, candidate.origin, candidate.location,
                          candidate.skew, stored.client_time, stored.origin, stored.location,
                          stored.skew);
}

}  // namespace herd
