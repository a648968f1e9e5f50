#ifndef HERD_COMMON_ESCAPE_H_
#define HERD_COMMON_ESCAPE_H_

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

inline bool HasControlBytes(std::string_view text) {
  for (char c : text) {
    if (IsControlByte(c)) return true;
  }
  return false;
}

inline void AppendEscaped(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!IsControlByte(c)) continue;
    out->append(text.substr(start, i - start));
    start = i + 1;
    switch (c) {
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\x1b': out->append("\\e"); break;
      case '\0': out->append("\\0"); break;
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

}  // namespace herd

#endif  // HERD_COMMON_ESCAPE_H_
