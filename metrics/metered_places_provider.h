#ifndef HERD_METRICS_METERED_PLACES_PROVIDER_H_
#define HERD_METRICS_METERED_PLACES_PROVIDER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/metric_cells.h"
#include "places/places_provider.h"

namespace herd {

// A PlacesProvider in front of another that counts its answers by their
// Nearby Search `status` and times them (from the question to the answer,
// whatever the inner provider does: cache, single flight, HTTP). A
// RenderedNow answer (the edge's cache hit) is counted as a hit, a null one
// as a miss. Questions not yet answered are counted too (in_progress).
//
// Thread-safe, as the inner provider is; counting takes no lock.
class MeteredPlacesProvider : public PlacesProvider {
 public:
  // The statuses counted by name; any other counts as "OTHER".
  static constexpr std::array<std::string_view, 7> kStatuses = {"OK",
                                                                "ZERO_RESULTS",
                                                                "OVER_QUERY_LIMIT",
                                                                "REQUEST_DENIED",
                                                                "INVALID_REQUEST",
                                                                "UNKNOWN_ERROR",
                                                                "OTHER"};

  struct Counters {
    std::array<ShardedCounter, kStatuses.size()> answers;  // by kStatuses
    LatencyHistogram duration;
    ShardedCounter rendered_hits;
    ShardedCounter rendered_misses;
    // Questions asked and not yet answered: waiting for an HTTP slot, in
    // flight, or joined to another's request (the queue depth seen from
    // herd).
    std::atomic<int64_t> in_progress{0};
  };

  // `provider` is the name shown in the metrics ("google", "offline", ...).
  // REQUIRES: inner != nullptr.
  MeteredPlacesProvider(std::unique_ptr<PlacesProvider> inner, std::string provider);
  MeteredPlacesProvider(const MeteredPlacesProvider&) = delete;
  MeteredPlacesProvider& operator=(const MeteredPlacesProvider&) = delete;

  void Nearby(const PlacesQuery& query, Callback done) override;
  std::shared_ptr<const PlacesText> RenderedNow(const PlacesQuery& query) override;

  const std::string& provider() const { return provider_; }
  const Counters& counters() const { return *counters_; }
  PlacesProvider* inner() const { return inner_.get(); }

 private:
  // Shared with answers still on their way when this provider is destroyed.
  const std::shared_ptr<Counters> counters_;
  const std::string provider_;
  const std::unique_ptr<PlacesProvider> inner_;
};

}  // namespace herd

#endif  // HERD_METRICS_METERED_PLACES_PROVIDER_H_
