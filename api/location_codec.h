#ifndef HERD_API_LOCATION_CODEC_H_
#define HERD_API_LOCATION_CODEC_H_

// The Locations API's conversions and checks: records to messages, typed
// reports to the text an IAMAT carries, page tokens, Places JSON to typed
// places, and the validation rules of the text protocol with errors that name
// the field. Pure functions, thread-safe.

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/limits.h"
#include "herd/v1/locations.pb.h"
#include "store/record.h"

namespace herd {

// A record as the API shows it: its AT fields, its position as numbers and
// its AT line.
void ToLocation(const Record& record, v1::Location* out);

// The checks of the API's fields: the protocol's rules (common/limits.h,
// the same the edge applies to IAMAT and WHATSAT) with errors that name the
// field ("client_id: contains whitespace").

// OK, or INVALID_ARGUMENT naming `field`: IsValidClientId.
absl::Status CheckClientId(std::string_view id, std::string_view field);

// OK, or INVALID_ARGUMENT naming the field: present, and within [-90, 90] /
// [-180, 180] degrees (not NaN).
absl::Status CheckLatitude(bool present, double latitude, std::string_view field);
absl::Status CheckLongitude(bool present, double longitude, std::string_view field);

// OK, or INVALID_ARGUMENT naming `field`: 0 < radius <= kMaxRadiusKm, as WHATSAT's.
absl::Status CheckRadius(double radius_km, std::string_view field);

// OK, or INVALID_ARGUMENT naming `field`: [1, kMaxResults], as WHATSAT's bound.
absl::Status CheckResultCount(int64_t count, std::string_view field);

// One coordinate as IAMAT writes it: a sign ('+' for zero) and the degrees,
// rounded to nine fraction digits (0.1 mm) and printed with six to nine of
// them: 34.06893 -> "+34.068930", -118.4451271 -> "-118.4451271".
std::string FormatCoordinate(double degrees);

// "+34.068930-118.445127". REQUIRES: both within range.
std::string FormatLocation(double latitude, double longitude);

// A Timestamp as IAMAT's time field: POSIX seconds, '.', nine digits
// ("1621464827.959498503"). REQUIRES: CheckClientTime(time) is OK.
std::string FormatClientTime(const google::protobuf::Timestamp& time);

// OK, or INVALID_ARGUMENT naming `field`: present, not before 1970, nanos
// within [0, 999999999].
absl::Status CheckClientTime(bool present, const google::protobuf::Timestamp& time,
                             std::string_view field);

// The record this server (`origin`) stamps for `request` received at
// `receive_time_ns`: what the edge builds for the equivalent IAMAT, with the
// same FormatSkew. INVALID_ARGUMENT naming the first bad field.
absl::StatusOr<Record> RecordFromReport(const v1::ReportRequest& request, std::string_view origin,
                                        int64_t receive_time_ns);

// List's page token: opaque to callers (web-safe base64 of a version tag and
// the last client id of the page), so it survives restarts and works on any
// server of the herd. Decode gives the client id to continue after, or
// INVALID_ARGUMENT naming page_token.
std::string EncodePageToken(std::string_view last_client_id);
absl::StatusOr<std::string> DecodePageToken(std::string_view token);

// Fills out->places from a Nearby Search response (fields that are missing
// or of the wrong type are left empty), with distances from (latitude,
// longitude), and out->status and out->json.
void FillNearby(const nlohmann::json& response, double latitude, double longitude,
                v1::NearbyResponse* out);

// The gRPC status for a Places answer's "status": OK for "OK" and
// "ZERO_RESULTS", else an error saying what the provider answered.
grpc::Status PlacesStatusToGrpc(std::string_view places_status);

// An absl::Status as a grpc::Status (same code and message).
grpc::Status ToGrpc(const absl::Status& status);

// The page size a List call asked for: `requested`, or `default_size` for
// 0, at most `max_size`; INVALID_ARGUMENT naming page_size if negative.
absl::StatusOr<size_t> PageSizeOf(int requested, int default_size, int max_size);

// Answers a unary call at once with `status` (no asynchronous work left).
grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const grpc::Status& status);
grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status);

}  // namespace herd

#endif  // HERD_API_LOCATION_CODEC_H_
