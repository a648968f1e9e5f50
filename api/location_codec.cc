#include "api/location_codec.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/geo.h"
#include "common/limits.h"
#include "common/strings.h"
#include "proto/record_codec.h"

namespace herd {
namespace {

constexpr std::string_view kPageTokenTag = "v1:";

absl::Status Invalid(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(field), ": ", AsAbsl(why)));
}

std::string StringField(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool NumberField(const nlohmann::json& object, const char* key, double* out) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return false;
  *out = it->get<double>();
  return true;
}

void ToPlace(const nlohmann::json& result, double latitude, double longitude, v1::Place* place) {
  place->set_place_id(StringField(result, "place_id"));
  place->set_name(StringField(result, "name"));
  place->set_vicinity(StringField(result, "vicinity"));
  if (const auto types = result.find("types"); types != result.end() && types->is_array()) {
    for (const nlohmann::json& type : *types) {
      if (type.is_string()) place->add_types(type.get<std::string>());
    }
  }
  double rating;
  if (NumberField(result, "rating", &rating)) place->set_rating(rating);
  const auto geometry = result.find("geometry");
  if (geometry == result.end() || !geometry->is_object()) return;
  const auto location = geometry->find("location");
  if (location == geometry->end() || !location->is_object()) return;
  double lat, lng;
  if (NumberField(*location, "lat", &lat) && NumberField(*location, "lng", &lng)) {
    place->set_latitude(lat);
    place->set_longitude(lng);
    place->set_distance_km(HaversineKm(latitude, longitude, lat, lng));
  }
}

}  // namespace

void ToLocation(const Record& record, v1::Location* out) {
  ToProto(record, out->mutable_record());
  double latitude = 0, longitude = 0;
  ParseLocation(record.location, &latitude, &longitude);
  out->set_latitude(latitude);
  out->set_longitude(longitude);
  out->set_at_line(record.AtLine());
}

absl::Status CheckClientId(std::string_view id, std::string_view field) {
  return NameField(field, ValidateClientId(id));
}

absl::Status CheckLatitude(bool present, double latitude, std::string_view field) {
  if (!present) return Invalid(field, "required");
  return NameField(field, ValidateLatitude(latitude));
}

absl::Status CheckLongitude(bool present, double longitude, std::string_view field) {
  if (!present) return Invalid(field, "required");
  return NameField(field, ValidateLongitude(longitude));
}

absl::Status CheckRadius(double radius_km, std::string_view field) {
  return NameField(field, ValidateRadiusKm(radius_km));
}

absl::Status CheckResultCount(int64_t count, std::string_view field) {
  return NameField(field, ValidateResultCount(count));
}

std::string FormatCoordinate(double degrees) {
  char digits[64];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, std::fabs(degrees),
                                       std::chars_format::fixed, 9);
  std::string text(digits, ec == std::errc() ? end : digits);
  // Nine fraction digits, trailing zeros dropped down to six.
  const size_t dot = text.find('.');
  while (dot != std::string::npos && text.size() > dot + 7 && text.back() == '0') {
    text.pop_back();
  }
  // "-0.000000" would be odd: a value that rounds to zero is "+".
  const bool negative = degrees < 0 && text.find_first_of("123456789") != std::string::npos;
  text.insert(text.begin(), negative ? '-' : '+');
  return text;
}

std::string FormatLocation(double latitude, double longitude) {
  return FormatCoordinate(latitude) + FormatCoordinate(longitude);
}

absl::Status CheckClientTime(bool present, const google::protobuf::Timestamp& time,
                             std::string_view field) {
  if (!present) return Invalid(field, "required");
  if (time.seconds() < 0) {
    return Invalid(field, absl::StrCat("must not be before 1970 (seconds ", time.seconds(),
                                       "): IAMAT times are unsigned POSIX seconds"));
  }
  if (time.nanos() < 0 || time.nanos() > 999'999'999) {
    return Invalid(absl::StrCat(AsAbsl(field), ".nanos"),
                   absl::StrCat("must be in [0, 999999999], got ", time.nanos()));
  }
  return absl::OkStatus();
}

std::string FormatClientTime(const google::protobuf::Timestamp& time) {
  return absl::StrCat(time.seconds(), ".", absl::Dec(time.nanos(), absl::kZeroPad9));
}

absl::StatusOr<Record> RecordFromReport(const v1::ReportRequest& request, std::string_view origin,
                                        int64_t receive_time_ns) {
  if (absl::Status s = CheckClientId(request.client_id(), "client_id"); !s.ok()) return s;
  if (absl::Status s = CheckLatitude(request.has_latitude(), request.latitude(), "latitude");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckLongitude(request.has_longitude(), request.longitude(), "longitude");
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckClientTime(request.has_client_time(), request.client_time(), "client_time");
      !s.ok()) {
    return s;
  }
  Record record;
  record.client_id = request.client_id();
  record.origin = std::string(origin);
  record.location = FormatLocation(request.latitude(), request.longitude());
  record.client_time = FormatClientTime(request.client_time());
  record.skew = FormatSkew(receive_time_ns, record.client_time);
  // The text is built to pass IAMAT's rules; check anyway, as a peer would.
  if (!IsWellFormedRecord(record)) {
    return absl::InternalError(absl::StrCat("built a malformed record: ", record.AtLine()));
  }
  return record;
}

std::string EncodePageToken(std::string_view last_client_id) {
  return absl::WebSafeBase64Escape(absl::StrCat(AsAbsl(kPageTokenTag), AsAbsl(last_client_id)));
}

absl::StatusOr<std::string> DecodePageToken(std::string_view token) {
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(AsAbsl(token), &decoded) ||
      !absl::StartsWith(decoded, AsAbsl(kPageTokenTag)) ||
      !CheckClientId(std::string_view(decoded).substr(kPageTokenTag.size()), "id").ok()) {
    return Invalid("page_token", "not a token from List (pass next_page_token back unchanged)");
  }
  return decoded.substr(kPageTokenTag.size());
}

void FillNearby(const nlohmann::json& response, double latitude, double longitude,
                v1::NearbyResponse* out) {
  if (response.is_object()) {
    out->set_status(StringField(response, "status"));
    const auto results = response.find("results");
    if (results != response.end() && results->is_array()) {
      for (const nlohmann::json& result : *results) {
        if (result.is_object()) ToPlace(result, latitude, longitude, out->add_places());
      }
    }
  }
  out->set_json(response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

grpc::Status PlacesStatusToGrpc(std::string_view places_status) {
  if (places_status == "OK" || places_status == "ZERO_RESULTS") return grpc::Status::OK;
  const std::string message = absl::StrCat(
      "places provider answered ", places_status.empty() ? "no status" : AsAbsl(places_status));
  if (places_status == "OVER_QUERY_LIMIT") {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, message);
  }
  if (places_status == "REQUEST_DENIED") {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, message);
  }
  if (places_status == "INVALID_REQUEST") {
    return grpc::Status(grpc::StatusCode::INTERNAL, message);
  }
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, message);  // UNKNOWN_ERROR, timeouts
}

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status) {
  return FinishNow(context, ToGrpc(status));
}

absl::StatusOr<size_t> PageSizeOf(int requested, int default_size, int max_size) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must not be negative, got ", requested));
  }
  return static_cast<size_t>(requested == 0 ? default_size : std::min(requested, max_size));
}

}  // namespace herd
