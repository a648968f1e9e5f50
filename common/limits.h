#ifndef HERD_COMMON_LIMITS_H_
#define HERD_COMMON_LIMITS_H_

// The protocol's limits (SPEC section 3) and its rules on single fields,
// defined once: the edge's parser, the store, the peers, the gRPC API and the
// Places providers all check with these. Each rule is a predicate (hot paths)
// and a Validate function whose error says why without naming a field: the
// caller knows the field, and the gRPC API puts its name first
// (NameField("radius_km", ...) -> "radius_km: must be in (0, 50] km, got 60").
// Pure functions, thread-safe.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace herd {

// The longest client id a server accepts, in bytes.
inline constexpr size_t kMaxClientIdBytes = 256;
// The longest location or client time accepted, in bytes (digits beyond a
// few dozen carry no information; the bound keeps records small).
inline constexpr size_t kMaxNumberBytes = 1024;
// WHATSAT's radius bound (and the API's): (0, 50] km.
inline constexpr double kMaxRadiusKm = 50;
// The most results one answer may carry: WHATSAT's bound, the API's
// max_results, a Places provider's page.
inline constexpr int kMaxResults = 20;

// The protocol's field separators: space, tab, CR, LF, FF, VT.
inline constexpr bool IsProtocolWhitespace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Whether `text` has any protocol whitespace (a plain loop: find_first_of
// with a set calls memchr once per byte).
inline bool HasProtocolWhitespace(std::string_view text) {
  for (char c : text) {
    if (IsProtocolWhitespace(c)) return true;
  }
  return false;
}

// True if `text` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing past U+10FFFF).
bool IsValidUtf8(std::string_view text);

// A client id: 1 to kMaxClientIdBytes bytes of UTF-8 without whitespace or
// control bytes (0x00-0x1F, 0x7F; SPEC section 3), UTF-8 because gRPC peers
// and the Locations API carry it as a proto string. The edge, the store, the
// peers and the gRPC API all check ids with this one rule.
bool IsValidClientId(std::string_view id);

// Degrees within [-90, 90] / [-180, 180] (NaN is neither).
inline bool IsValidLatitude(double degrees) { return degrees >= -90 && degrees <= 90; }
inline bool IsValidLongitude(double degrees) { return degrees >= -180 && degrees <= 180; }

// 0 < radius_km <= kMaxRadiusKm (NaN is not).
inline bool IsValidRadiusKm(double radius_km) { return radius_km > 0 && radius_km <= kMaxRadiusKm; }

// 1 <= count <= kMaxResults.
inline bool IsValidResultCount(int64_t count) { return count >= 1 && count <= kMaxResults; }

// The same rules, as OK or an INVALID_ARGUMENT saying why ("required",
// "contains whitespace", "must be in (0, 50] km, got 60"...).
absl::Status ValidateClientId(std::string_view id);
absl::Status ValidateLatitude(double degrees);
absl::Status ValidateLongitude(double degrees);
absl::Status ValidateRadiusKm(double radius_km);
absl::Status ValidateResultCount(int64_t count);

// `status` with "field: " before its message; OK stays OK.
absl::Status NameField(std::string_view field, const absl::Status& status);

}  // namespace herd

#endif  // HERD_COMMON_LIMITS_H_
