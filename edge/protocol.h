#ifndef HERD_EDGE_PROTOCOL_H_
#define HERD_EDGE_PROTOCOL_H_

// The text protocol of the edge (spec section 3), without sockets: parsing a
// line into a command and formatting replies. Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/statusor.h"
#include "store/record.h"

namespace herd {

// A line of only whitespace: ignored, no reply.
struct BlankLine {};

// IAMAT CLIENT LOCATION TIME. The views point into the parsed line.
struct IamatCommand {
  std::string_view client_id;
  std::string_view location;  // "+34.068930-118.445127"
  std::string_view client_time;
  double latitude = 0;
  double longitude = 0;
};

// WHATSAT CLIENT RADIUS_KM BOUND. The view points into the parsed line.
struct WhatsatCommand {
  std::string_view client_id;
  double radius_km = 0;  // (0, kMaxRadiusKm]: common/limits.h
  int bound = 0;         // [1, kMaxResults]
};

using Command = std::variant<BlankLine, IamatCommand, WhatsatCommand>;

// Parses one line (without its '\n'). An invalid command is an
// InvalidArgumentError whose message says what is wrong (for the log; the
// client only sees "? LINE").
absl::StatusOr<Command> ParseCommand(std::string_view line);

// The AT line's time difference is FormatSkew in store/record.h, shared with
// the gRPC Report so both origins stamp records identically.

// The reply to an invalid command: "? LINE\n".
std::string FormatInvalid(std::string_view line);

// The WHATSAT reply: the AT line, '\n', the JSON with every run of newlines
// reduced to one and trailing newlines removed, then "\n\n".
std::string FormatWhatsat(std::string_view at_line, std::string_view json_text);
// The same, appended to `out`.
void AppendWhatsat(std::string_view at_line, std::string_view json_text, std::string* out);

}  // namespace herd

#endif  // HERD_EDGE_PROTOCOL_H_
