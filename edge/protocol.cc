#include "edge/protocol.h"

#include <array>
#include <charconv>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/strings.h"
#include "store/decimal.h"

namespace herd {
namespace {

// Splits on runs of whitespace; returns false if there are more than `N`.
template <size_t N>
bool SplitFields(std::string_view line, std::array<std::string_view, N>* fields, size_t* count) {
  *count = 0;
  size_t pos = 0;
  const size_t size = line.size();
  for (;;) {
    while (pos < size && IsProtocolWhitespace(line[pos])) ++pos;
    if (pos == size) return true;
    size_t end = pos;
    while (end < size && !IsProtocolWhitespace(line[end])) ++end;
    if (*count == N) return false;
    (*fields)[(*count)++] = line.substr(pos, end - pos);
    pos = end;
  }
}

absl::Status Invalid(std::string_view why) { return absl::InvalidArgumentError(AsAbsl(why)); }

// The field's rule broken (for the log): "radius: must be in (0, 50] km, got 60".
absl::Status Invalid(std::string_view field, const absl::Status& why) {
  return NameField(field, why);
}

absl::StatusOr<Command> ParseIamat(std::string_view client, std::string_view location,
                                   std::string_view time) {
  IamatCommand command{client, location, time};
  if (!IsValidClientId(client)) return Invalid("client id", ValidateClientId(client));
  if (!ParseLocation(location, &command.latitude, &command.longitude)) {
    return Invalid("location is not +DD.D+DDD.D within range");
  }
  if (!IsWellFormedClientTime(time)) {
    return Invalid("time is not POSIX seconds DIGITS[.DIGITS]");
  }
  return command;
}

absl::StatusOr<Command> ParseWhatsat(std::string_view client, std::string_view radius,
                                     std::string_view bound) {
  WhatsatCommand command{client};
  if (!IsValidClientId(client)) return Invalid("client id", ValidateClientId(client));
  if (!IsUnsignedDecimal(radius, 6)) return Invalid("radius is not a decimal number");
  command.radius_km = ToDouble(radius);
  if (!IsValidRadiusKm(command.radius_km)) {
    return Invalid("radius", ValidateRadiusKm(command.radius_km));
  }
  if (!AllDigits(bound)) return Invalid("bound is not an integer");
  // Leading zeros are allowed (docs/protocol.md): "0000020" is 20.
  const size_t first_nonzero = bound.find_first_not_of('0');
  bound = first_nonzero == std::string_view::npos ? "0" : bound.substr(first_nonzero);
  // 19 digits and more would overflow, and are out of range anyway.
  int64_t value = INT64_MAX;
  if (bound.size() <= 18) std::from_chars(bound.data(), bound.data() + bound.size(), value);
  if (!IsValidResultCount(value)) return Invalid("bound", ValidateResultCount(value));
  command.bound = static_cast<int>(value);
  return command;
}

}  // namespace

absl::StatusOr<Command> ParseCommand(std::string_view line) {
  std::array<std::string_view, 4> fields;
  size_t count = 0;
  if (!SplitFields(line, &fields, &count)) return Invalid("too many fields");
  if (count == 0) return BlankLine{};
  if (fields[0] == "IAMAT") {
    if (count != 4) return Invalid("IAMAT takes CLIENT LOCATION TIME");
    return ParseIamat(fields[1], fields[2], fields[3]);
  }
  if (fields[0] == "WHATSAT") {
    if (count != 4) return Invalid("WHATSAT takes CLIENT RADIUS_KM BOUND");
    return ParseWhatsat(fields[1], fields[2], fields[3]);
  }
  return Invalid("unknown command");
}

std::string FormatInvalid(std::string_view line) { return absl::StrCat("? ", AsAbsl(line), "\n"); }

std::string FormatWhatsat(std::string_view at_line, std::string_view json_text) {
  std::string out;
  AppendWhatsat(at_line, json_text, &out);
  return out;
}

void AppendWhatsat(std::string_view at_line, std::string_view json_text, std::string* out) {
  out->reserve(out->size() + at_line.size() + json_text.size() + 3);
  const size_t start = out->size();
  out->append(at_line);
  out->push_back('\n');
  // Copy line by line (memchr, bulk appends), dropping empty lines.
  size_t pos = 0;
  while (pos < json_text.size()) {
    size_t end = json_text.find('\n', pos);
    if (end == std::string_view::npos) end = json_text.size();
    if (end > pos) {
      out->append(json_text.substr(pos, end - pos));
      out->push_back('\n');
    }
    pos = end + 1;
  }
  while (out->size() > start && out->back() == '\n') out->pop_back();
  out->append("\n\n");
}

}  // namespace herd
