#ifndef HERD_FENCES_GLOB_H_
#define HERD_FENCES_GLOB_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace herd {

// A checked glob pattern over client ids: '*' matches any run of bytes
// (including none), '?' exactly one byte, every other byte itself; there are
// no escapes. The empty pattern matches everything. Matching is linear in
// practice (greedy '*' with one backtrack point) and never allocates.
//
// Immutable after Parse: thread-safe.
class Glob {
 public:
  static constexpr size_t kMaxBytes = 256;

  // A glob that matches every id.
  Glob() = default;

  // Checks `pattern` (at most kMaxBytes bytes, no whitespace or control
  // bytes: client ids never hold them, so such a pattern could never match).
  // INVALID_ARGUMENT naming `field`.
  static absl::StatusOr<Glob> Parse(std::string_view pattern, std::string_view field);

  bool Matches(std::string_view text) const;

  // Whether every text matches (empty, or only '*').
  bool matches_everything() const { return matches_everything_; }
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;  // with runs of '*' collapsed to one
  bool matches_everything_ = true;
};

}  // namespace herd

#endif  // HERD_FENCES_GLOB_H_
