#ifndef HERD_PLACES_GOOGLE_PROVIDER_H_
#define HERD_PLACES_GOOGLE_PROVIDER_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "common/server_log.h"
#include "places/http_fetcher.h"
#include "places/places_provider.h"

namespace herd {

// Which Google API answers.
enum class GoogleApi {
  // Places API (New): POST {endpoint}/v1/places:searchNearby, key and field
  // mask in headers, JSON body; the answer is converted to the Nearby Search
  // shape.
  kPlacesNew,
  // Legacy Nearby Search: GET {endpoint}/maps/api/place/nearbysearch/json
  // ?location=LAT,LNG&radius=METRES&key=KEY; the answer passes through with
  // its results cut to the bound.
  kLegacyNearby,
};

inline constexpr char kPlacesNewEndpoint[] = "https://places.googleapis.com";
inline constexpr char kLegacyNearbyEndpoint[] = "https://maps.googleapis.com";
// What the Places API (New) request asks for: exactly the fields the Nearby
// Search shape has (Google bills by the fields asked for).
inline constexpr char kPlacesFieldMask[] =
    "places.id,places.displayName,places.location,places.shortFormattedAddress,"
    "places.formattedAddress,places.types,places.rating,places.userRatingCount,"
    "places.businessStatus";

struct GoogleOptions {
  GoogleApi api = GoogleApi::kPlacesNew;
  // "http[s]://host[:port][/prefix]"; empty means Google's (above). The key
  // is sent there and nowhere else.
  std::string endpoint;
  std::string api_key;                      // REQUIRES: not empty
  std::chrono::milliseconds timeout{3000};  // per request, from Nearby() to done
  HttpFetcher::Options fetcher;
};

// A PlacesProvider backed by Google Places over libcurl (HttpFetcher: one
// thread running a multi handle, keep-alive, a cap on requests in flight).
//
// Every failure is an answer, within `timeout` of Nearby(), with empty
// results and a Nearby Search status, and is logged with its reason (never
// the key): HTTP 400 -> INVALID_REQUEST, 401/403 -> REQUEST_DENIED, 429 ->
// OVER_QUERY_LIMIT; timeout, refused, any other HTTP status, a body that is
// not the expected JSON, or too many requests in flight -> UNKNOWN_ERROR. A
// query outside PlacesQuery's ranges is INVALID_REQUEST without a request.
//
// Thread-safe. `done` runs on the fetcher's thread, or on the caller's before
// Nearby() returns for an invalid query or when the in-flight cap is hit.
class GooglePlacesProvider : public PlacesProvider {
 public:
  // REQUIRES: `log` outlives the provider.
  static absl::StatusOr<std::unique_ptr<GooglePlacesProvider>> Create(GoogleOptions options,
                                                                      ServerLog* log);
  GooglePlacesProvider(const GooglePlacesProvider&) = delete;
  GooglePlacesProvider& operator=(const GooglePlacesProvider&) = delete;
  ~GooglePlacesProvider() override;

  void Nearby(const PlacesQuery& query, Callback done) override;

  // The request Nearby() sends for `query` (its deadline unset).
  HttpRequest BuildRequest(const PlacesQuery& query) const;

 private:
  GooglePlacesProvider(GoogleOptions options, ServerLog* log, std::unique_ptr<HttpFetcher> fetcher);
  // Turns what came back into the answer (on the fetcher's thread).
  nlohmann::json Answer(const PlacesQuery& query, const HttpResponse& response,
                        std::chrono::milliseconds elapsed) const;
  // `text` with the key (plain or URL-encoded) blanked out, for logs.
  std::string Redact(std::string_view text) const;

  // Constant after construction.
  const GoogleOptions options_;
  const char* const api_name_;
  ServerLog* const log_;
  // Last, so it is destroyed first: its destructor answers what is pending,
  // which uses the members above.
  const std::unique_ptr<HttpFetcher> fetcher_;
};

// A Places API (New) searchNearby response body as a Nearby Search response
// with at most `max_results` results (`status` OK, or ZERO_RESULTS when there
// are none). An error if the body is not a JSON object or `places` is not an
// array; fields of the wrong type are left out.
absl::StatusOr<nlohmann::json> ConvertPlacesNewResponse(std::string_view body, int max_results);

// A legacy Nearby Search response body, checked (a JSON object with a string
// `status` and an array `results`) and cut to `max_results` results.
absl::StatusOr<nlohmann::json> CutLegacyResponse(std::string_view body, int max_results);

// The Nearby Search status for a non-2xx HTTP status code.
const char* StatusForHttpCode(long code);

}  // namespace herd

#endif  // HERD_PLACES_GOOGLE_PROVIDER_H_
