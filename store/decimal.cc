#include "store/decimal.h"

#include <charconv>

#include "absl/strings/ascii.h"

namespace herd {

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsUnsignedDecimal(std::string_view text, size_t max_integer_digits) {
  const size_t dot = text.find('.');
  const std::string_view integer = text.substr(0, dot);
  if (integer.size() > max_integer_digits || !AllDigits(integer)) return false;
  return dot == std::string_view::npos || AllDigits(text.substr(dot + 1));
}

double ToDouble(std::string_view unsigned_decimal) {
  double value = 0;
  std::from_chars(unsigned_decimal.data(), unsigned_decimal.data() + unsigned_decimal.size(),
                  value);
  return value;
}

}  // namespace herd
