#include "store/record.h"

#include <charconv>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "store/decimal.h"

namespace herd {
namespace {

struct DecimalParts {
  std::string_view integer;   // without leading zeros
  std::string_view fraction;  // without trailing zeros
};

DecimalParts SplitDecimal(std::string_view text) {
  const size_t dot = text.find('.');
  std::string_view integer = text.substr(0, dot);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  while (!integer.empty() && integer.front() == '0') integer.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  return {integer, fraction};
}

int Sign(int value) { return (value > 0) - (value < 0); }

// One signed coordinate "+DD.D", at most `limit` degrees in magnitude,
// compared exactly (so 90.0000000000000001 is out of range).
bool ParseCoordinate(std::string_view text, int limit, double* out) {
  if (text.size() < 2 || (text[0] != '+' && text[0] != '-')) return false;
  const bool negative = text[0] == '-';
  const std::string_view magnitude = text.substr(1);
  if (!IsUnsignedDecimal(magnitude, 3)) return false;
  const size_t dot = magnitude.find('.');
  int degrees = 0;
  std::from_chars(magnitude.data(), magnitude.data() + magnitude.substr(0, dot).size(), degrees);
  if (degrees > limit) return false;
  if (degrees == limit && dot != std::string_view::npos &&
      magnitude.find_first_not_of('0', dot + 1) != std::string_view::npos) {
    return false;
  }
  *out = negative ? -ToDouble(magnitude) : ToDouble(magnitude);
  return true;
}

}  // namespace

bool ParseLocation(std::string_view text, double* latitude, double* longitude) {
  if (text.empty() || text.size() > kMaxNumberBytes) return false;
  const size_t second_sign = text.find_first_of("+-", 1);
  if (second_sign == std::string_view::npos) return false;
  return ParseCoordinate(text.substr(0, second_sign), 90, latitude) &&
         ParseCoordinate(text.substr(second_sign), 180, longitude);
}

std::string Record::AtLine() const {
  return absl::StrCat("AT ", origin, " ", skew, " ", client_id, " ", location, " ", client_time);
}

int CompareClientTime(std::string_view a, std::string_view b) {
  const DecimalParts x = SplitDecimal(a);
  const DecimalParts y = SplitDecimal(b);
  // Without leading zeros, a longer integer part is a larger number.
  if (x.integer.size() != y.integer.size()) {
    return x.integer.size() < y.integer.size() ? -1 : 1;
  }
  if (const int c = x.integer.compare(y.integer); c != 0) return Sign(c);
  // Without trailing zeros, fractions compare as digit strings.
  return Sign(x.fraction.compare(y.fraction));
}

int CompareSkew(std::string_view a, std::string_view b) {
  const bool a_negative = !a.empty() && a.front() == '-';
  const bool b_negative = !b.empty() && b.front() == '-';
  if (!a.empty() && (a.front() == '+' || a.front() == '-')) a.remove_prefix(1);
  if (!b.empty() && (b.front() == '+' || b.front() == '-')) b.remove_prefix(1);
  const int magnitude = CompareClientTime(a, b);
  if (a_negative != b_negative) {
    return magnitude == 0 && SplitDecimal(a).integer.empty() && SplitDecimal(a).fraction.empty()
               ? 0  // -0 == +0
               : (a_negative ? -1 : 1);
  }
  return a_negative ? -magnitude : magnitude;
}

bool SupersedesFields(std::string_view time, std::string_view origin, std::string_view location,
                      std::string_view skew, std::string_view current_time,
                      std::string_view current_origin, std::string_view current_location,
                      std::string_view current_skew) {
  const int by_time = CompareClientTime(time, current_time);
  if (by_time != 0) return by_time > 0;
  // Equal client times: a total order, so every server keeps the same record.
  if (origin != current_origin) return origin > current_origin;
  if (location != current_location) return location > current_location;
  // The same report received twice by one server: the first receipt (the
  // smaller time difference) stands, so a resend changes nothing.
  if (const int by_skew = CompareSkew(skew, current_skew); by_skew != 0) return by_skew < 0;
  // Equal as decimals but written differently ("5.5" and "5.50"): the bytes
  // decide, so the order stays total and every server keeps the same bytes.
  if (time != current_time) return time > current_time;
  return skew > current_skew;
}

bool Supersedes(const Record& candidate, const Record& current) {
  return SupersedesFields(candidate.client_time, candidate.origin, candidate.location,
                          candidate.skew, current.client_time, current.origin, current.location,
                          current.skew);
}

bool IsWellFormedClientTime(std::string_view text) {
  return text.size() <= kMaxNumberBytes && IsUnsignedDecimal(text, 19);
}

bool IsWellFormedSkew(std::string_view text) {
  if (text.size() < 4 || (text[0] != '+' && text[0] != '-')) return false;
  const size_t dot = text.find('.');
  return dot != std::string_view::npos && AllDigits(text.substr(1, dot - 1)) && dot - 1 <= 20 &&
         text.size() - dot - 1 == 9 && AllDigits(text.substr(dot + 1));
}

bool IsWellFormedRecord(const RecordView& record) {
  double latitude, longitude;
  return IsValidClientId(record.client_id) && !record.origin.empty() &&
         record.origin.size() <= 253 && !HasProtocolWhitespace(record.origin) &&
         IsWellFormedSkew(record.skew) && ParseLocation(record.location, &latitude, &longitude) &&
         IsWellFormedClientTime(record.client_time);
}

int64_t OriginReceiveNs(std::string_view client_time, std::string_view skew) {
  // DIGITS[.DIGITS] as nanoseconds, fraction digits past the ninth dropped;
  // at most 20 integer digits, so 128 bits hold it.
  const auto nanos = [](std::string_view text) {
    const size_t dot = text.find('.');
    __int128 value = 0;
    for (char c : text.substr(0, dot)) value = value * 10 + (c - '0');
    const std::string_view fraction =
        dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    for (size_t i = 0; i < 9; ++i) {
      value = value * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
    }
    return value;
  };
  __int128 total = nanos(client_time);
  if (!skew.empty()) {
    const __int128 difference = nanos(skew.substr(1));
    total += skew.front() == '-' ? -difference : difference;
  }
  constexpr __int128 kMax = INT64_MAX;
  constexpr __int128 kMin = INT64_MIN;
  return static_cast<int64_t>(total > kMax ? kMax : total < kMin ? kMin : total);
}

std::string FormatSkew(int64_t receive_time_ns, std::string_view client_time) {
  return std::string(FormatSkewText(receive_time_ns, client_time).view());
}

namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

struct ClientInstant {
  uint64_t seconds = 0;
  int64_t nanos = 0;  // digits past the ninth dropped
};

// REQUIRES: IsWellFormedClientTime(client_time).
ClientInstant SplitClientTime(std::string_view client_time) {
  // At most 19 integer digits, so the seconds fit 64 bits.
  const size_t dot = client_time.find('.');
  ClientInstant out;
  for (char c : client_time.substr(0, dot)) {
    out.seconds = out.seconds * 10 + static_cast<uint64_t>(c - '0');
  }
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : client_time.substr(dot + 1);
  for (size_t i = 0; i < 9; ++i) {
    out.nanos = out.nanos * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  }
  return out;
}

}  // namespace

bool IsTooFarAhead(int64_t receive_time_ns, std::string_view client_time, int64_t max_ahead_s) {
  return FormatSkewText(receive_time_ns, client_time).TooFarAhead(max_ahead_s);
}

bool OriginSawTooFarAhead(std::string_view skew, int64_t max_ahead_s) {
  const std::string bound = absl::StrCat("-", max_ahead_s, ".000000000");
  return CompareSkew(skew, bound) < 0;
}

SkewText FormatSkewText(int64_t receive_time_ns, std::string_view client_time) {
  const ClientInstant client = SplitClientTime(client_time);
  const uint64_t client_seconds = client.seconds;
  const int64_t client_nanos = client.nanos;
  // The difference as seconds (128 bits: no overflow either way) and
  // nanoseconds in [0, 10^9), with no 128-bit division.
  int64_t receive_seconds = receive_time_ns / kNanosPerSecond;
  int64_t receive_nanos = receive_time_ns % kNanosPerSecond;
  if (receive_nanos < 0) {
    receive_nanos += kNanosPerSecond;
    --receive_seconds;
  }
  __int128 seconds = static_cast<__int128>(receive_seconds) - client_seconds;
  int64_t nanos = receive_nanos - client_nanos;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    --seconds;
  }
  const bool negative = seconds < 0;
  if (negative && nanos > 0) {  // -(s + n/1e9) = -(|s| - 1) - (1e9 - n)/1e9
    seconds += 1;
    nanos = kNanosPerSecond - nanos;
  }
  // Under 10^19 + 10^10 s in magnitude: fits 64 bits unsigned.
  const auto whole = static_cast<uint64_t>(negative ? -seconds : seconds);
  SkewText text;
  text.negative = negative;
  text.whole_seconds = whole;
  text.nanos = nanos;
  char* end = text.data;
  *end++ = negative ? '-' : '+';
  end = std::to_chars(end, text.data + sizeof text.data, whole).ptr;
  *end++ = '.';
  for (int i = 8; i >= 0; --i, nanos /= 10) end[i] = static_cast<char>('0' + nanos % 10);
  text.size = static_cast<size_t>(end + 9 - text.data);
  return text;
}

}  // namespace herd
