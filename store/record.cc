#include "store/record.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

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

}  // namespace

std::string Record::AtLine() const {
  return absl::StrCat("AT ", origin, " ", skew, " ", client_id, " ", location, " ",
                      client_time);
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
    return magnitude == 0 && SplitDecimal(a).integer.empty() &&
                   SplitDecimal(a).fraction.empty()
               ? 0  // -0 == +0
               : (a_negative ? -1 : 1);
  }
  return a_negative ? -magnitude : magnitude;
}

bool Supersedes(const Record& candidate, const Record& current) {
  const int by_time = CompareClientTime(candidate.client_time, current.client_time);
  if (by_time != 0) return by_time > 0;
  // Equal client times: a total order, so every server keeps the same record.
  if (candidate.origin != current.origin) return candidate.origin > current.origin;
  if (candidate.location != current.location) {
    return candidate.location > current.location;
  }
  // The same report received twice by one server: the first receipt (the
  // smaller time difference) stands, so a resend changes nothing.
  return CompareSkew(candidate.skew, current.skew) < 0;
}

bool IsWellFormedClientTime(std::string_view text) {
  const size_t dot = text.find('.');
  const std::string_view integer = text.substr(0, dot);
  if (integer.empty() || integer.size() > 19) return false;
  for (char c : integer) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  if (dot == std::string_view::npos) return true;
  const std::string_view fraction = text.substr(dot + 1);
  if (fraction.empty()) return false;
  for (char c : fraction) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace herd
