#include "places/provider_factory.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "places/gazetteer.h"
#include "places/google_provider.h"
#include "places/offline_provider.h"
#include "places/places_cache.h"

namespace herd {
namespace {

absl::StatusOr<std::unique_ptr<PlacesProvider>> Offline(const PlacesSettings& settings,
                                                        ServerLog* log) {
  absl::StatusOr<std::unique_ptr<Gazetteer>> gazetteer = Gazetteer::Load(settings.gazetteer);
  if (!gazetteer.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("places.gazetteer: ", gazetteer.status().message()));
  }
  log->Info("places: offline gazetteer {}", settings.gazetteer);
  return std::make_unique<OfflinePlacesProvider>(
      std::shared_ptr<const Gazetteer>(*std::move(gazetteer)));
}

constexpr std::pair<PlacesProviderKind, std::string_view> kProviderNames[] = {
    {PlacesProviderKind::kAuto, "auto"},
    {PlacesProviderKind::kGoogle, "google"},
    {PlacesProviderKind::kGoogleLegacy, "google-legacy"},
    {PlacesProviderKind::kOffline, "offline"}};

bool HaveKey(const char* api_key) { return api_key != nullptr && *api_key != '\0'; }

}  // namespace

std::string_view PlacesProviderName(PlacesProviderKind kind) {
  for (const auto& [k, name] : kProviderNames) {
    if (k == kind) return name;
  }
  return "auto";
}

std::optional<PlacesProviderKind> ParsePlacesProviderKind(std::string_view name) {
  for (const auto& [kind, n] : kProviderNames) {
    if (n == name) return kind;
  }
  return std::nullopt;
}

PlacesProviderKind ResolvePlacesProvider(PlacesProviderKind kind, const char* api_key) {
  if (kind != PlacesProviderKind::kAuto) return kind;
  return HaveKey(api_key) ? PlacesProviderKind::kGoogle : PlacesProviderKind::kOffline;
}

absl::StatusOr<std::unique_ptr<PlacesProvider>> CreatePlacesProvider(const PlacesSettings& settings,
                                                                     const char* api_key,
                                                                     ServerLog* log) {
  const PlacesProviderKind kind = ResolvePlacesProvider(settings.provider, api_key);
  if (kind == PlacesProviderKind::kOffline) return Offline(settings, log);
  const std::string_view provider = PlacesProviderName(kind);
  if (!HaveKey(api_key)) {
    return absl::InvalidArgumentError(absl::StrCat("places.provider: \"", AsAbsl(provider),
                                                   "\" needs a Google API key in the environment "
                                                   "variable ",
                                                   settings.api_key_env,
                                                   " (places.api_key_env), which is ",
                                                   api_key == nullptr ? "not set" : "empty"));
  }
  GoogleOptions google;
  google.api =
      kind == PlacesProviderKind::kGoogle ? GoogleApi::kPlacesNew : GoogleApi::kLegacyNearby;
  google.endpoint = settings.endpoint;
  google.api_key = api_key;
  google.timeout = settings.timeout;
  google.fetcher.max_in_flight = settings.max_in_flight;
  google.fetcher.max_queued = settings.max_queued;
  absl::StatusOr<std::unique_ptr<GooglePlacesProvider>> inner =
      GooglePlacesProvider::Create(std::move(google), log);
  if (!inner.ok()) {
    const char* field = settings.endpoint.empty() ? "places" : "places.endpoint";
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", inner.status().message()));
  }
  const std::string endpoint =
      !settings.endpoint.empty()
          ? settings.endpoint
          : (kind == PlacesProviderKind::kGoogle ? kPlacesNewEndpoint : kLegacyNearbyEndpoint);
  // The key's name, never its value.
  log->Info(
      "places: {} at {} with the key in {}; timeout {} ms, {} in flight + {} "
      "queued; cache {} ms, {} entries",
      provider, endpoint, settings.api_key_env, settings.timeout.count(), settings.max_in_flight,
      settings.max_queued, settings.cache_ttl.count(), settings.cache_entries);
  CachingPlacesProvider::Options cache;
  cache.ttl = settings.cache_ttl;
  cache.max_entries = settings.cache_entries;
  return std::make_unique<CachingPlacesProvider>(*std::move(inner), std::move(cache));
}

}  // namespace herd
