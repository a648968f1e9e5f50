#ifndef HERD_COMMON_ESCAPE_H_
#define HERD_COMMON_ESCAPE_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace herd {

// Control bytes (0x00-0x1F, 0x7F) as text safe for a log line or a
// terminal, like Redis's sdscatrepr: \n \r \t \e \0 and \xNN for the rest.
// Every other byte is kept (UTF-8 stays readable). Backslashes are not
// doubled, so a client can write the four characters `\x1b` itself: that is
// harmless text, never an escape sequence. Pure functions, thread-safe.

inline bool IsControlByte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7F;
}

// The first control byte of `text` at or after `from`, or npos. Eight
// bytes at a time: log lines are on the hot path and rarely hold one.
inline size_t FindControlByte(std::string_view text, size_t from = 0) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHigh = 0x8080808080808080;
  size_t i = from;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, 8);
    // A byte below 0x20 (high bit clear), or equal to 0x7F.
    const uint64_t low = (word - 0x20 * kOnes) & ~word & kHigh;
    const uint64_t del = word ^ (0x7F * kOnes);
    const uint64_t is_del = (del - kOnes) & ~del & kHigh;
    if ((low | is_del) != 0) break;  // the byte loop below finds which
  }
  for (; i < text.size(); ++i) {
    if (IsControlByte(text[i])) return i;
  }
  return std::string_view::npos;
}

inline bool HasControlBytes(std::string_view text) {
  return FindControlByte(text) != std::string_view::npos;
}

inline void AppendEscaped(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t start = 0;
  for (size_t i = FindControlByte(text); i < text.size(); i = FindControlByte(text, i + 1)) {
    const char c = text[i];
    if (!IsControlByte(c)) continue;
    out->append(text.substr(start, i - start));
    start = i + 1;
    switch (c) {
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\x1b':
        out->append("\\e");
        break;
      case '\0':
        out->append("\\0");
        break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        const char hex[4] = {'\\', 'x', kHex[byte >> 4], kHex[byte & 0xF]};
        out->append(hex, sizeof hex);
      }
    }
  }
  out->append(text.substr(start));
}

inline std::string Escaped(std::string_view text) {
  std::string out;
  AppendEscaped(text, &out);
  return out;
}

// A URL fit for a log: scheme, host and path, without user info, query or
// fragment (they may carry secrets). "(not a URL)" without a scheme.
inline std::string LoggableUrl(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "(not a URL)";
  const size_t host_start = scheme_end + 3;
  const size_t path_start = std::min(url.find('/', host_start), url.size());
  const size_t at = url.substr(0, path_start).rfind('@');
  if (at == std::string_view::npos || at < host_start) return std::string(url);
  std::string out(url.substr(0, host_start));
  out.append(url.substr(at + 1));
  return out;
}

}  // namespace herd

#endif  // HERD_COMMON_ESCAPE_H_
