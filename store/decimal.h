#ifndef HERD_STORE_DECIMAL_H_
#define HERD_STORE_DECIMAL_H_

// Small checks on decimal text shared by the record and the edge parser.
// Pure functions, thread-safe.

#include <cstddef>
#include <string_view>

namespace herd {

// One or more ASCII digits and nothing else.
bool AllDigits(std::string_view text);

// DIGITS[.DIGITS] with at most `max_integer_digits` before the point.
bool IsUnsignedDecimal(std::string_view text, size_t max_integer_digits);

// The value of a text that IsUnsignedDecimal accepted.
double ToDouble(std::string_view unsigned_decimal);

}  // namespace herd

#endif  // HERD_STORE_DECIMAL_H_
