#include "common/limits.h"

#include "absl/strings/str_cat.h"
#include "common/escape.h"
#include "common/strings.h"

namespace herd {

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    size_t length;
    uint32_t code;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2, code = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3, code = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4, code = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return false;
      code = (code << 6) | (byte(i + k) & 0x3F);
    }
    // No overlong forms, no surrogates, nothing past U+10FFFF.
    if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
        (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return false;
    }
    i += length;
  }
  return true;
}

bool IsValidClientId(std::string_view id) {
  if (id.empty() || id.size() > kMaxClientIdBytes) return false;
  // SPEC section 3: no control bytes (0x00-0x1F, 0x7F), which also covers
  // the protocol's whitespace but for the space.
  for (char c : id) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F || byte == ' ') return false;
  }
  return IsValidUtf8(id);
}

absl::Status ValidateClientId(std::string_view id) {
  if (IsValidClientId(id)) return absl::OkStatus();
  // Why, in the order a reader would look.
  if (id.empty()) return absl::InvalidArgumentError("required");
  if (id.size() > kMaxClientIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("longer than ", kMaxClientIdBytes, " bytes (", id.size(), ")"));
  }
  if (HasProtocolWhitespace(id)) return absl::InvalidArgumentError("contains whitespace");
  if (HasControlBytes(id)) {
    return absl::InvalidArgumentError("contains a control byte (0x00-0x1F, 0x7F)");
  }
  return absl::InvalidArgumentError("is not valid UTF-8");
}

absl::Status ValidateLatitude(double degrees) {
  if (IsValidLatitude(degrees)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("must be in [-90, 90] degrees, got ", degrees));
}

absl::Status ValidateLongitude(double degrees) {
  if (IsValidLongitude(degrees)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("must be in [-180, 180] degrees, got ", degrees));
}

absl::Status ValidateRadiusKm(double radius_km) {
  if (IsValidRadiusKm(radius_km)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("must be in (0, ", kMaxRadiusKm, "] km, got ", radius_km));
}

absl::Status ValidateResultCount(int64_t count) {
  if (IsValidResultCount(count)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("must be in [1, ", kMaxResults, "], got ", count));
}

absl::Status NameField(std::string_view field, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(AsAbsl(field), ": ", status.message()));
}

}  // namespace herd
