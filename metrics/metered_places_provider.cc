#include "metrics/metered_places_provider.h"

#include <chrono>
#include <utility>

namespace herd {

MeteredPlacesProvider::MeteredPlacesProvider(std::unique_ptr<PlacesProvider> inner,
                                             std::string provider)
    : counters_(std::make_shared<Counters>()),
      provider_(std::move(provider)),
      inner_(std::move(inner)) {}

void MeteredPlacesProvider::Nearby(const PlacesQuery& query, Callback done) {
  const auto start = std::chrono::steady_clock::now();
  counters_->in_progress.fetch_add(1, std::memory_order_relaxed);
  inner_->Nearby(query, [counters = counters_, start,
                         done = std::move(done)](nlohmann::json response) mutable {
    counters->in_progress.fetch_sub(1, std::memory_order_relaxed);
    counters->duration.ObserveNanos(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now() - start)
                                        .count());
    size_t status = kStatuses.size() - 1;
    if (auto it = response.find("status"); it != response.end() && it->is_string()) {
      const std::string& text = it->get_ref<const std::string&>();
      for (size_t i = 0; i + 1 < kStatuses.size(); ++i) {
        if (text == kStatuses[i]) status = i;
      }
    }
    counters->answers[status].Add();
    std::move(done)(std::move(response));
  });
}

std::shared_ptr<const PlacesText> MeteredPlacesProvider::RenderedNow(const PlacesQuery& query) {
  std::shared_ptr<const PlacesText> text = inner_->RenderedNow(query);
  (text != nullptr ? counters_->rendered_hits : counters_->rendered_misses).Add();
  return text;
}

}  // namespace herd
