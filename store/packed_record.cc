#include "store/packed_record.h"

#include <malloc.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <type_traits>

#include "absl/base/macros.h"

namespace herd {
namespace {

// The characters a numeric field is made of, each stored as a 4-bit code
// (its index here).
constexpr std::string_view kDigitAlphabet = "0123456789+-.";
constexpr uint8_t kNotADigit = 0xFF;

// Byte -> 4-bit code, or kNotADigit.
constexpr std::array<uint8_t, 256> kDigitCodes = [] {
  std::array<uint8_t, 256> codes{};
  codes.fill(kNotADigit);
  for (size_t i = 0; i < kDigitAlphabet.size(); ++i) {
    codes[static_cast<unsigned char>(kDigitAlphabet[i])] = static_cast<uint8_t>(i);
  }
  return codes;
}();

// Packed byte -> its two characters.
constexpr std::array<std::array<char, 2>, 256> kDigitPairs = [] {
  std::array<std::array<char, 2>, 256> pairs{};
  for (size_t byte = 0; byte < 256; ++byte) {
    const size_t high = byte >> 4, low = byte & 0xF;
    pairs[byte] = {high < kDigitAlphabet.size() ? kDigitAlphabet[high] : '?',
                   low < kDigitAlphabet.size() ? kDigitAlphabet[low] : '?'};
  }
  return pairs;
}();

uint8_t CodeOf(char c) { return kDigitCodes[static_cast<unsigned char>(c)]; }

bool CanPackDigits(std::string_view text) {
  uint8_t any_bad = 0;
  for (char c : text) any_bad |= CodeOf(c) & 0xF0;  // only kNotADigit has high bits
  return any_bad == 0;
}

size_t PackedSize(size_t chars) { return (chars + 1) / 2; }

// Two characters per byte, the first in the high half; an odd count leaves
// the last low half zero. Returns false (having written garbage) if `text`
// has a character outside the alphabet.
bool PackDigits(std::string_view text, char** out) {
  uint8_t codes_seen = 0;  // the OR of every code: high bits mean kNotADigit
  char* next = *out;
  size_t i = 0;
  for (; i + 1 < text.size(); i += 2) {
    const uint8_t first = CodeOf(text[i]), second = CodeOf(text[i + 1]);
    codes_seen |= first | second;
    *next++ = static_cast<char>(first << 4 | (second & 0xF));
  }
  if (i < text.size()) {
    const uint8_t last = CodeOf(text[i]);
    codes_seen |= last;
    *next++ = static_cast<char>(last << 4);
  }
  *out = next;
  return (codes_seen & 0xF0) == 0;
}

void UnpackDigits(const char* in, size_t chars, char* out) {
  for (size_t i = 0; i < chars / 2; ++i) {
    std::memcpy(out + 2 * i, kDigitPairs[static_cast<unsigned char>(in[i])].data(), 2);
  }
  if (chars % 2 != 0) out[chars - 1] = kDigitPairs[static_cast<unsigned char>(in[chars / 2])][0];
}

}  // namespace

static_assert(std::is_trivially_copyable_v<PackedRecord>, "records are copied and freed raw");

uint8_t PackedRecord::PackableFields(const RecordView& record) {
  const auto numeric = NumericFields(record);
  uint8_t packed = 0;
  for (int field = 0; field < kNumericFields; ++field) {
    if (CanPackDigits(numeric[field])) packed |= 1 << field;
  }
  return packed;
}

size_t PackedRecord::BytesFor(const RecordView& record, uint8_t packed) {
  const auto numeric = NumericFields(record);
  size_t size = record.client_id.size() + record.origin.size();
  for (int field = 0; field < kNumericFields; ++field) {
    const size_t chars = numeric[field].size();
    size += packed & (1 << field) ? PackedSize(chars) : chars;
  }
  return offsetof(PackedRecord, data_) + size;
}

bool PackedRecord::Fits(const RecordView& record) {
  // The header's size fields, and the Scratch that unpacks the numeric ones.
  return record.client_id.size() <= UINT16_MAX && record.origin.size() <= UINT8_MAX &&
         record.skew.size() <= UINT8_MAX && record.location.size() <= kMaxNumberBytes &&
         record.client_time.size() <= kMaxNumberBytes;
}

PackedRecord::Ptr PackedRecord::Make(const RecordView& record, uint32_t source, uint64_t seq) {
  Ptr made;
  Assign(record, source, seq, &made);
  return made;
}

void PackedRecord::Assign(const RecordView& record, uint32_t source, uint64_t seq, Ptr* target,
                          bool* location_changed) {
  // Checked in every build: a size cut to its header field would corrupt the
  // store silently (the edge and the peers never get this far with one).
  if (!Fits(record)) throw std::length_error("record field too long for a PackedRecord");
  if (BytesFor(record, 0) > kMaxStagedBytes) {  // never from a well-formed record
    const uint8_t packed = PackableFields(record);
    void* block = std::malloc(BytesFor(record, packed));
    if (block == nullptr) throw std::bad_alloc();
    Ptr made(new (block) PackedRecord);
    made->Fill(record, packed, source, seq);
    if (location_changed != nullptr) {
      *location_changed = *target == nullptr || !SameLocation(**target, *made);
    }
    *target = std::move(made);
    return;
  }
  // Packed in one pass on the stack, which also finds a field that does
  // not pack (accepted reports always do); nothing changes before the only
  // allocation.
  alignas(PackedRecord) std::byte staging[kMaxStagedBytes];
  auto* staged = new (staging) PackedRecord;
  uint8_t packed = kAllNumericFields;
  if (!staged->Fill(record, packed, source, seq)) {
    packed = PackableFields(record);
    staged->Fill(record, packed, source, seq);
  }
  const size_t bytes = BytesFor(record, packed);
  if (location_changed != nullptr) {
    *location_changed = *target == nullptr || !SameLocation(**target, *staged);
  }
  if (*target != nullptr && malloc_usable_size(target->get()) >= bytes) {
    std::memcpy(static_cast<void*>(target->get()), staging, bytes);
    return;
  }
  void* block = std::malloc(bytes);
  if (block == nullptr) throw std::bad_alloc();
  std::memcpy(block, staging, bytes);  // PackedRecord is trivially copyable
  target->reset(static_cast<PackedRecord*>(block));
}

bool PackedRecord::Fill(const RecordView& record, uint8_t packed, uint32_t source, uint64_t seq) {
  ABSL_ASSERT(Fits(record));
  seq_ = seq;
  source_ = source;
  client_id_size_ = static_cast<uint16_t>(record.client_id.size());
  origin_size_ = static_cast<uint8_t>(record.origin.size());
  skew_size_ = static_cast<uint8_t>(record.skew.size());
  location_size_ = static_cast<uint16_t>(record.location.size());
  client_time_size_ = static_cast<uint16_t>(record.client_time.size());
  flags_ = packed;
  char* data = data_;
  for (std::string_view raw : {record.client_id, record.origin}) {
    std::memcpy(data, raw.data(), raw.size());
    data += raw.size();
  }
  const auto numeric = NumericFields(record);
  bool all_packed = true;
  for (int field = 0; field < kNumericFields; ++field) {
    const std::string_view text = numeric[field];
    if (packed & (1 << field)) {
      all_packed &= PackDigits(text, &data);
    } else {
      std::memcpy(data, text.data(), text.size());
      data += text.size();
    }
  }
  return all_packed;
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
  return flags_ & (1 << field) ? PackedSize(TextSize(field)) : TextSize(field);
}

RecordView PackedRecord::View(Scratch* scratch) const {
  std::string_view text[kNumericFields];
  char* unpacked = scratch->text;
  for (int i = 0; i < kNumericFields; ++i) {
    const auto field = static_cast<NumericField>(i);
    text[field] = Stored(field);
    if (flags_ & (1 << field)) {
      const size_t size = TextSize(field);
      UnpackDigits(text[field].data(), size, unpacked);
      text[field] = std::string_view(unpacked, size);
      unpacked += size;
    }
  }
  return RecordView{client_id(), origin(), text[kSkew], text[kLocation], text[kClientTime]};
}

Record PackedRecord::ToRecord() const {
  Scratch scratch;
  return herd::ToRecord(View(&scratch));
}

std::string_view PackedRecord::Stored(NumericField field) const {
  const char* stored = data_ + client_id_size_ + origin_size_;
  for (int before = 0; before < field; ++before) {
    stored += StoredSize(static_cast<NumericField>(before));
  }
  return std::string_view(stored, StoredSize(field));
}

bool PackedRecord::SameLocation(const PackedRecord& a, const PackedRecord& b) {
  // Packed text pads an odd last character with a zero half-byte, so equal
  // lengths and packing make equal bytes mean equal text.
  const uint8_t packed_bit = 1 << kLocation;
  return a.location_size_ == b.location_size_ &&
         (a.flags_ & packed_bit) == (b.flags_ & packed_bit) &&
         a.Stored(kLocation) == b.Stored(kLocation);
}

std::string_view PackedRecord::Numeric(NumericField field, Scratch* scratch) const {
  const std::string_view stored = Stored(field);
  const size_t size = TextSize(field);
  if (!(flags_ & (1 << field))) return stored;
  UnpackDigits(stored.data(), size, scratch->text);
  return std::string_view(scratch->text, size);
}

bool Supersedes(const RecordView& candidate, const PackedRecord& current) {
  PackedRecord::Scratch scratch;
  // The client time decides nearly always: unpack the rest only on a tie.
  const int by_time = CompareClientTime(candidate.client_time, current.ClientTime(&scratch));
  if (by_time != 0) return by_time > 0;
  const RecordView stored = current.View(&scratch);
  return SupersedesFields(candidate.client_time, candidate.origin, candidate.location,
                          candidate.skew, stored.client_time, stored.origin, stored.location,
                          stored.skew);
}

}  // namespace herd
