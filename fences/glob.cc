#include "fences/glob.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace herd {
namespace {

bool IsWhitespaceOrControl(unsigned char c) { return c <= 0x20 || c == 0x7F; }

}  // namespace

absl::StatusOr<Glob> Glob::Parse(std::string_view pattern, std::string_view field) {
  if (pattern.size() > kMaxBytes) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(field), ": a pattern has at most ",
                                                   kMaxBytes, " bytes, got ", pattern.size()));
  }
  Glob glob;
  for (char c : pattern) {
    if (IsWhitespaceOrControl(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          AsAbsl(field), ": a pattern has no whitespace or control bytes (client ids have none)"));
    }
    if (c == '*' && !glob.pattern_.empty() && glob.pattern_.back() == '*') continue;
    glob.pattern_.push_back(c);
  }
  glob.matches_everything_ = glob.pattern_.empty() || glob.pattern_ == "*";
  return glob;
}

bool Glob::Matches(std::string_view text) const {
  if (matches_everything_) return true;
  const std::string_view pattern = pattern_;
  size_t p = 0, t = 0;
  // Where the last '*' was and where its run of text restarts: a later
  // mismatch lets that '*' take one byte more. One backtrack point is enough
  // because a later '*' can absorb whatever an earlier one would have.
  size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace herd
