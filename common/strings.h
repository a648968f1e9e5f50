#ifndef HERD_COMMON_STRINGS_H_
#define HERD_COMMON_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace herd {

// Debian 12's abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW=0, so
// absl::string_view is a type of its own: convert at abseil's boundaries.
inline absl::string_view AsAbsl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}
inline std::string_view AsStd(absl::string_view text) {
  return std::string_view(text.data(), text.size());
}

}  // namespace herd

#endif  // HERD_COMMON_STRINGS_H_
