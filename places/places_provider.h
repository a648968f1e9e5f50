#ifndef HERD_PLACES_PLACES_PROVIDER_H_
#define HERD_PLACES_PLACES_PROVIDER_H_

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/functional/any_invocable.h"
#include "common/limits.h"

namespace herd {

// A question for a Places provider: places around a point.
// The ranges are the protocol's (common/limits.h).
struct PlacesQuery {
  double latitude = 0;   // degrees, [-90, 90]
  double longitude = 0;  // degrees, [-180, 180]
  double radius_km = 0;  // (0, kMaxRadiusKm]
  int max_results = 0;   // [1, kMaxResults]
};

// An answer rendered as text, once, for every reply and log line that shows
// it.
struct PlacesText {
  std::string indented;  // 3 spaces per level, as WHATSAT replies show it
  std::string one_line;  // compact, as the log shows it
};

// Renders `answer`; invalid UTF-8 in strings becomes U+FFFD. `indented` has
// no empty lines and no trailing newline.
PlacesText RenderPlacesText(const nlohmann::json& answer);

// Finds places near a point and answers in the shape of Google's Nearby
// Search response: {"html_attributions": [], "results": [...], "status": "OK"}
// with at most `max_results` results. Failures are answers too: a JSON object
// whose "status" names the failure (UNKNOWN_ERROR, OVER_QUERY_LIMIT,
// REQUEST_DENIED, INVALID_REQUEST) and whose "results" is empty.
//
// Thread-safe: Nearby() may be called from any thread concurrently. It never
// blocks on I/O; `done` runs exactly once, either before Nearby() returns or
// later on a provider-owned thread, so callers must hop back to their own
// executor before touching their state.
class PlacesProvider {
 public:
  using Callback = absl::AnyInvocable<void(nlohmann::json response) &&>;

  virtual ~PlacesProvider() = default;

  virtual void Nearby(const PlacesQuery& query, Callback done) = 0;

  // The answer to `query` already rendered, if the provider has it at hand
  // (a cache hit), else null; never blocks on I/O and never asks upstream.
  // A null answer says nothing: ask Nearby(). The default has nothing.
  virtual std::shared_ptr<const PlacesText> RenderedNow(const PlacesQuery& query);
};

// The Nearby Search response used for failures: empty results, `status` set.
nlohmann::json PlacesFailure(const char* status);

// Whether `query` is inside the ranges PlacesQuery documents.
bool IsValidPlacesQuery(const PlacesQuery& query);

// Keeps the first `max_results` entries of `response`["results"] (when it is
// an array longer than that); everything else is left as it is.
void CutResults(nlohmann::json* response, int max_results);

}  // namespace herd

#endif  // HERD_PLACES_PLACES_PROVIDER_H_
