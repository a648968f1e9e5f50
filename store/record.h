#ifndef HERD_STORE_RECORD_H_
#define HERD_STORE_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// The field limits and rules (kMaxClientIdBytes, IsValidClientId,
// IsProtocolWhitespace...) are common/limits.h's, shared with places/.
#include "common/limits.h"

namespace herd {

// One client's reported position as its origin server stamped it. The fields
// are kept byte for byte as the client sent them (and as the origin computed
// the time difference), so every server reproduces the origin's AT line.
struct Record {
  std::string client_id;    // e.g. "kiwi.cs.ucla.edu"
  std::string origin;       // server that received the IAMAT, e.g. "Riley"
  std::string skew;         // origin receive time minus client time: "+0.263873386"
  std::string location;     // ISO 6709 as sent: "+34.068930-118.445127"
  std::string client_time;  // POSIX seconds as sent: "1621464827.959498503"

  // "AT Riley +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503"
  std::string AtLine() const;

  struct View;
  View view() const;

  bool operator==(const Record&) const = default;
};

// The same fields without owning them (hot paths build no strings).
struct Record::View {
  std::string_view client_id;
  std::string_view origin;
  std::string_view skew;
  std::string_view location;
  std::string_view client_time;
};
using RecordView = Record::View;

inline Record::View Record::view() const {
  return View{client_id, origin, skew, location, client_time};
}

// A Record holding copies of `view`'s fields.
inline Record ToRecord(const RecordView& view) {
  return Record{std::string(view.client_id), std::string(view.origin), std::string(view.skew),
                std::string(view.location), std::string(view.client_time)};
}

// Exact comparison of two client times of the form DIGITS[.DIGITS]: no
// floating point, any number of digits. Returns <0, 0, >0.
// REQUIRES: both are well formed (the edge and peer parsers check that).
int CompareClientTime(std::string_view a, std::string_view b);

// True if `candidate` should replace `current` for the same client: a greater
// client time wins; equal times are ordered by a deterministic tie-break
// (greater origin name, then greater location, then the smaller time
// difference, so a resend to the same server changes nothing, and last the
// greater bytes of the client time, then of the time difference: "5.50" over
// "5.5"). A total order: a record never supersedes an identical one, and of
// two different records for one client exactly one supersedes the other.
// Numeric comparison of two time differences of the form [+-]DIGITS[.DIGITS].
int CompareSkew(std::string_view a, std::string_view b);

bool Supersedes(const Record& candidate, const Record& current);

// The same on the fields that decide it (for records not held as Record).
bool SupersedesFields(std::string_view time, std::string_view origin, std::string_view location,
                      std::string_view skew, std::string_view current_time,
                      std::string_view current_origin, std::string_view current_location,
                      std::string_view current_skew);

// Parses an ISO 6709 location "+DD.D+DDD.D" (both signs required, 1-3
// integer digits, optional fraction) within [-90, 90] and [-180, 180],
// compared exactly. Returns false if malformed or out of range.
bool ParseLocation(std::string_view text, double* latitude, double* longitude);

// True if `text` is a time difference as an AT line shows it: a sign, digits,
// '.', nine digits.
bool IsWellFormedSkew(std::string_view text);

// The origin server's receive time of a record, in nanoseconds since the
// epoch: its client time plus its time difference (exact for the nine
// fraction digits the difference has; saturates at the int64 range). The
// same on every server, so expiry computed from it needs no coordination.
// REQUIRES: well-formed client time and skew.
int64_t OriginReceiveNs(std::string_view client_time, std::string_view skew);

// True if every field of `record` could have been produced by an origin
// server from a valid IAMAT (records from peers are checked with this).
bool IsWellFormedRecord(const RecordView& record);
inline bool IsWellFormedRecord(const Record& record) { return IsWellFormedRecord(record.view()); }

// True if `text` is a client time the store can compare: 1-19 integer digits,
// optionally '.' and one or more fraction digits.
bool IsWellFormedClientTime(std::string_view text);

// The time difference "receive time minus client time" with its sign and nine
// fraction digits, computed in exact integer nanoseconds (client time digits
// past the ninth are dropped). Every origin stamps records with this (the
// edge's IAMAT and the gRPC Report alike), so both give identical records.
// REQUIRES: IsWellFormedClientTime(client_time).
std::string FormatSkew(int64_t receive_time_ns, std::string_view client_time);

// True if `client_time` is more than `max_ahead_s` seconds after the receive
// time (to the nanosecond, as FormatSkew counts): such a report would freeze
// its client, since no honest report after it could be newer.
// REQUIRES: IsWellFormedClientTime(client_time).
bool IsTooFarAhead(int64_t receive_time_ns, std::string_view client_time, int64_t max_ahead_s);

// The default of max_future_s: one day.
inline constexpr int64_t kDefaultMaxFutureSeconds = 86'400;

// True if the origin that stamped a record with time difference `skew`
// received it more than `max_ahead_s` seconds before its client time: it
// broke the rule above at its origin. Decided by the record alone, so every
// server decides alike.
// REQUIRES: IsWellFormedSkew(skew).
bool OriginSawTooFarAhead(std::string_view skew, int64_t max_ahead_s);

// The same text in a fixed buffer (hot paths: no allocation), with the
// difference as numbers, so the edge checks max_future_s on the same
// arithmetic that stamped the record.
struct SkewText {
  char data[32];  // a sign, up to 20 digits, '.', nine digits
  size_t size = 0;
  bool negative = false;       // the client time is after the receive time
  uint64_t whole_seconds = 0;  // the magnitude's seconds...
  int64_t nanos = 0;           // ...and nanoseconds, in [0, 10^9)
  std::string_view view() const { return std::string_view(data, size); }
  // The rule of IsTooFarAhead, on this difference.
  bool TooFarAhead(int64_t max_ahead_s) const {
    const auto max = static_cast<uint64_t>(max_ahead_s);
    return negative && (whole_seconds > max || (whole_seconds == max && nanos > 0));
  }
};
SkewText FormatSkewText(int64_t receive_time_ns, std::string_view client_time);

}  // namespace herd

#endif  // HERD_STORE_RECORD_H_
