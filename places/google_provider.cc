#include "places/google_provider.h"

#include <charconv>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/strings.h"

namespace herd {
namespace {

using nlohmann::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr size_t kMaxLoggedDetail = 300;

// Google's answers nest about six levels deep. A deeper body is refused
// while it is parsed: nlohmann's parser keeps its own stack, but copying,
// printing or destroying a value recurses once per level, so 100,000
// levels of `[` would overflow the thread's stack.
constexpr int kMaxJsonDepth = 64;

// Parses `body`; a value nested deeper than kMaxJsonDepth makes the result
// discarded (as invalid JSON does). Containers past the limit are skipped
// as they are read, never built.
json ParseBounded(std::string_view body, bool* too_deep) {
  *too_deep = false;
  const json::parser_callback_t within_depth = [too_deep](int depth, json::parse_event_t event,
                                                          json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth) {
      *too_deep = true;
      return false;
    }
    return true;
  };
  json root = json::parse(body, within_depth, /*allow_exceptions=*/false);
  if (*too_deep) return json(json::value_t::discarded);
  return root;
}

// The shortest text that reads back as the same double ("34.06893").
std::string FormatDouble(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : "0";
}

// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string UrlEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// Radius in metres, to the millimetre, so 1.1 km prints as 1100, not
// 1100.0000000000002.
double RadiusMetres(double radius_km) { return std::round(radius_km * 1e6) / 1e3; }

std::string WithoutTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

bool IsHttpUrl(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (absl::StartsWithIgnoreCase(AsAbsl(url), AsAbsl(scheme)) && url.size() > scheme.size()) {
      return true;
    }
  }
  return false;
}

// One line of printable text, at most kMaxLoggedDetail bytes.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxLoggedDetail)) {
    out.push_back(absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : ' ');
  }
  if (text.size() > kMaxLoggedDetail) out += "...";
  return out;
}

// What an error body says: Google's error message when there is one.
std::string ErrorDetail(std::string_view body) {
  bool too_deep = false;
  const json root = ParseBounded(body, &too_deep);
  if (root.is_object()) {
    // Places API (New): {"error": {"code": 403, "message": ..., "status": ...}}
    if (const auto error = root.find("error"); error != root.end() && error->is_object()) {
      const auto message = error->find("message");
      const auto status = error->find("status");
      std::string out;
      if (status != error->end() && status->is_string()) {
        out = status->get<std::string>() + ": ";
      }
      if (message != error->end() && message->is_string()) out += message->get<std::string>();
      if (!out.empty()) return Printable(out);
    }
    // Legacy: {"error_message": ..., "status": ...}
    if (const auto message = root.find("error_message");
        message != root.end() && message->is_string()) {
      return Printable(message->get<std::string>());
    }
  }
  if (body.empty()) return "empty body";
  return Printable(body);
}

absl::StatusOr<json> ParseObject(std::string_view body) {
  bool too_deep = false;
  json root = ParseBounded(body, &too_deep);
  if (too_deep) {
    return absl::InvalidArgumentError(
        absl::StrCat("the body nests deeper than ", kMaxJsonDepth, " levels"));
  }
  if (root.is_discarded()) return absl::InvalidArgumentError("the body is not JSON");
  if (!root.is_object()) return absl::InvalidArgumentError("the body is not a JSON object");
  return root;
}

// One Places API (New) place as a Nearby Search result.
json ConvertPlace(const json& place) {
  json result = json::object();
  if (const auto id = place.find("id"); id != place.end() && id->is_string()) {
    result["place_id"] = *id;
  }
  if (const auto name = place.find("displayName"); name != place.end() && name->is_object()) {
    if (const auto text = name->find("text"); text != name->end() && text->is_string()) {
      result["name"] = *text;
    }
  }
  if (const auto location = place.find("location");
      location != place.end() && location->is_object()) {
    const auto lat = location->find("latitude");
    const auto lng = location->find("longitude");
    if (lat != location->end() && lat->is_number() && lng != location->end() && lng->is_number()) {
      result["geometry"] = {{"location", {{"lat", *lat}, {"lng", *lng}}}};
    }
  }
  for (const char* key : {"shortFormattedAddress", "formattedAddress"}) {
    if (const auto address = place.find(key); address != place.end() && address->is_string()) {
      result["vicinity"] = *address;
      break;
    }
  }
  if (const auto types = place.find("types"); types != place.end() && types->is_array()) {
    json out = json::array();
    for (const json& type : *types) {
      if (type.is_string()) out.push_back(type);
    }
    result["types"] = std::move(out);
  }
  if (const auto rating = place.find("rating"); rating != place.end() && rating->is_number()) {
    result["rating"] = *rating;
  }
  if (const auto count = place.find("userRatingCount");
      count != place.end() && count->is_number_integer()) {
    result["user_ratings_total"] = *count;
  }
  if (const auto status = place.find("businessStatus");
      status != place.end() && status->is_string()) {
    result["business_status"] = *status;
  }
  return result;
}

}  // namespace

absl::StatusOr<json> ConvertPlacesNewResponse(std::string_view body, int max_results) {
  absl::StatusOr<json> root = ParseObject(body);
  if (!root.ok()) return root.status();
  json results = json::array();
  // Google leaves `places` out when nothing matched.
  if (const auto places = root->find("places"); places != root->end()) {
    if (!places->is_array()) return absl::InvalidArgumentError("\"places\" is not an array");
    for (const json& place : *places) {
      if (static_cast<int>(results.size()) >= max_results) break;
      if (place.is_object()) results.push_back(ConvertPlace(place));
    }
  }
  const char* status = results.empty() ? "ZERO_RESULTS" : "OK";
  return json{{"html_attributions", json::array()},
              {"results", std::move(results)},
              {"status", status}};
}

absl::StatusOr<json> CutLegacyResponse(std::string_view body, int max_results) {
  absl::StatusOr<json> root = ParseObject(body);
  if (!root.ok()) return root.status();
  const auto status = root->find("status");
  if (status == root->end() || !status->is_string()) {
    return absl::InvalidArgumentError("no string \"status\"");
  }
  const auto results = root->find("results");
  if (results == root->end()) {
    (*root)["results"] = json::array();
  } else if (!results->is_array()) {
    return absl::InvalidArgumentError("\"results\" is not an array");
  }
  if (!root->contains("html_attributions")) (*root)["html_attributions"] = json::array();
  CutResults(&*root, max_results);
  return root;
}

const char* StatusForHttpCode(long code) {
  switch (code) {
    case 400:
      return "INVALID_REQUEST";
    case 401:
    case 403:
      return "REQUEST_DENIED";
    case 429:
      return "OVER_QUERY_LIMIT";
    default:
      return "UNKNOWN_ERROR";
  }
}

absl::StatusOr<std::unique_ptr<GooglePlacesProvider>> GooglePlacesProvider::Create(
    GoogleOptions options, ServerLog* log) {
  if (options.api_key.empty()) return absl::InvalidArgumentError("no API key");
  if (options.endpoint.empty()) {
    options.endpoint =
        options.api == GoogleApi::kPlacesNew ? kPlacesNewEndpoint : kLegacyNearbyEndpoint;
  }
  if (!IsHttpUrl(options.endpoint)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", options.endpoint, "\" is not an http:// or https:// URL"));
  }
  options.endpoint = WithoutTrailingSlashes(std::move(options.endpoint));
  if (options.timeout.count() <= 0) {
    return absl::InvalidArgumentError("the timeout must be positive");
  }
  absl::StatusOr<std::unique_ptr<HttpFetcher>> fetcher = HttpFetcher::Create(options.fetcher);
  if (!fetcher.ok()) return fetcher.status();
  return std::unique_ptr<GooglePlacesProvider>(
      new GooglePlacesProvider(std::move(options), log, *std::move(fetcher)));
}

GooglePlacesProvider::GooglePlacesProvider(GoogleOptions options, ServerLog* log,
                                           std::unique_ptr<HttpFetcher> fetcher)
    : options_(std::move(options)),
      api_name_(options_.api == GoogleApi::kPlacesNew ? "google" : "google-legacy"),
      log_(log),
      fetcher_(std::move(fetcher)) {}

GooglePlacesProvider::~GooglePlacesProvider() = default;

HttpRequest GooglePlacesProvider::BuildRequest(const PlacesQuery& query) const {
  HttpRequest request;
  if (options_.api == GoogleApi::kPlacesNew) {
    request.method = "POST";
    request.url = absl::StrCat(options_.endpoint, "/v1/places:searchNearby");
    request.headers = {"Content-Type: application/json",
                       absl::StrCat("X-Goog-Api-Key: ", options_.api_key),
                       absl::StrCat("X-Goog-FieldMask: ", kPlacesFieldMask)};
    const json body = {
        {"locationRestriction",
         {{"circle",
           {{"center", {{"latitude", query.latitude}, {"longitude", query.longitude}}},
            {"radius", RadiusMetres(query.radius_km)}}}}},
        {"maxResultCount", query.max_results}};
    request.body = body.dump();
  } else {
    request.method = "GET";
    request.url = absl::StrCat(options_.endpoint, "/maps/api/place/nearbysearch/json?location=",
                               FormatDouble(query.latitude), ",", FormatDouble(query.longitude),
                               "&radius=", FormatDouble(RadiusMetres(query.radius_km)),
                               "&key=", UrlEncode(options_.api_key));
  }
  return request;
}

void GooglePlacesProvider::Nearby(const PlacesQuery& query, Callback done) {
  if (!IsValidPlacesQuery(query)) {
    std::move(done)(PlacesFailure("INVALID_REQUEST"));
    return;
  }
  HttpRequest request = BuildRequest(query);
  const auto start = steady_clock::now();
  request.deadline = start + options_.timeout;
  fetcher_->Fetch(std::move(request),
                  [this, query, start, done = std::move(done)](HttpResponse response) mutable {
                    const auto elapsed = duration_cast<milliseconds>(steady_clock::now() - start);
                    std::move(done)(Answer(query, response, elapsed));
                  });
}

json GooglePlacesProvider::Answer(const PlacesQuery& query, const HttpResponse& response,
                                  milliseconds elapsed) const {
  const long ms = static_cast<long>(elapsed.count());
  if (!response.transport.ok()) {
    log_->Warn("places: {} request failed after {} ms: {} -> UNKNOWN_ERROR", api_name_, ms,
               Redact(response.transport.ToString()));
    return PlacesFailure("UNKNOWN_ERROR");
  }
  if (response.status_code < 200 || response.status_code > 299) {
    const char* status = StatusForHttpCode(response.status_code);
    log_->Warn("places: {} answered HTTP {} after {} ms ({}) -> {}", api_name_,
               response.status_code, ms, Redact(ErrorDetail(response.body)), status);
    return PlacesFailure(status);
  }
  absl::StatusOr<json> answer = options_.api == GoogleApi::kPlacesNew
                                    ? ConvertPlacesNewResponse(response.body, query.max_results)
                                    : CutLegacyResponse(response.body, query.max_results);
  if (!answer.ok()) {
    log_->Warn(
        "places: {} answered HTTP {} after {} ms with a bad body ({}: {}) -> "
        "UNKNOWN_ERROR",
        api_name_, response.status_code, ms, Redact(AsStd(answer.status().message())),
        Redact(Printable(response.body)));
    return PlacesFailure("UNKNOWN_ERROR");
  }
  const std::string status = (*answer)["status"].get<std::string>();
  if (status != "OK" && status != "ZERO_RESULTS") {
    log_->Warn("places: {} said {} after {} ms ({})", api_name_, Printable(status), ms,
               Redact(ErrorDetail(response.body)));
  } else {
    log_->Info("places: {} answered {} with {} results in {} ms", api_name_, status,
               (*answer)["results"].size(), ms);
  }
  return *std::move(answer);
}

std::string GooglePlacesProvider::Redact(std::string_view text) const {
  std::string out(text);
  const std::string encoded = UrlEncode(options_.api_key);
  for (const std::string* secret : {&options_.api_key, &encoded}) {
    for (size_t at; (at = out.find(*secret)) != std::string::npos;) {
      out.replace(at, secret->size(), "<redacted>");
    }
  }
  return out;
}

}  // namespace herd
