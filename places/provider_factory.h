#ifndef HERD_PLACES_PROVIDER_FACTORY_H_
#define HERD_PLACES_PROVIDER_FACTORY_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/server_log.h"
#include "places/places_provider.h"

namespace herd {

// Which provider answers. kAuto: Google (Places API New) when a key is set,
// else offline.
enum class PlacesProviderKind { kAuto, kGoogle, kGoogleLegacy, kOffline };

// The kind's name in the config: "auto", "google", "google-legacy", "offline".
std::string_view PlacesProviderName(PlacesProviderKind kind);
// The kind a config names, or nullopt for any other name.
std::optional<PlacesProviderKind> ParsePlacesProviderKind(std::string_view name);
// What kAuto means for `api_key` (the value of api_key_env, nullptr when
// unset): kGoogle when set and not empty, else kOffline. Others are themselves.
PlacesProviderKind ResolvePlacesProvider(PlacesProviderKind kind, const char* api_key);

// How to build the server's Places provider: the config's "places" object,
// parsed straight into this (app/config.cc), checked there once.
struct PlacesSettings {
  PlacesProviderKind provider = PlacesProviderKind::kAuto;
  std::string endpoint;  // empty: Google's
  std::string api_key_env = "GOOGLE_PLACES_API_KEY";
  std::string gazetteer;  // the offline provider's data file
  std::chrono::milliseconds timeout{3000};
  std::chrono::milliseconds cache_ttl{60'000};  // 0: no caching (single-flight stays)
  size_t cache_entries = 1000;                  // answers kept, least recently used dropped
  size_t max_in_flight = 16;                    // concurrent HTTP requests
  size_t max_queued = 256;  // more waiting for a slot; beyond: UNKNOWN_ERROR at once
};

// The provider `settings` describe. `api_key` is the value of the variable
// settings.api_key_env names (nullptr when unset); kAuto resolves as
// ResolvePlacesProvider says. Google providers sit
// behind a CachingPlacesProvider; the offline one answers directly (it costs
// microseconds and no quota).
//
// Errors name the config field, e.g. a "google" provider without a key:
//   places.provider: "google" needs a Google API key in the environment
//   variable GOOGLE_PLACES_API_KEY (places.api_key_env), which is not set
// REQUIRES: `log` outlives the provider.
absl::StatusOr<std::unique_ptr<PlacesProvider>> CreatePlacesProvider(const PlacesSettings& settings,
                                                                     const char* api_key,
                                                                     ServerLog* log);

}  // namespace herd

#endif  // HERD_PLACES_PROVIDER_FACTORY_H_
