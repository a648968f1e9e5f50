#ifndef HERD_METRICS_METRICS_ENDPOINT_H_
#define HERD_METRICS_METRICS_ENDPOINT_H_

#include <functional>
#include <memory>
#include <string>

#include <prometheus/exposer.h>

#include "absl/status/statusor.h"
#include "metrics/family_builder.h"

namespace herd {

// GET /metrics in the Prometheus text format on one address, served by
// prometheus-cpp's Exposer (civetweb, threads of its own). Each scrape calls
// `collect` on a civetweb thread to build the families afresh: the code's
// counters and the state gauges are read then, never pushed.
//
// Thread-safe; `collect` must be (it runs concurrently with everything) and
// must stay valid until this endpoint is destroyed (which stops serving).
class MetricsEndpoint {
 public:
  using CollectFunction = std::function<void(FamilyBuilder&)>;

  // Listens on `address` ("127.0.0.1:12400"); an error naming it if it cannot.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& address,
                                                                CollectFunction collect);
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  ~MetricsEndpoint();

  // The bound port (address port 0 picks a free one).
  int port() const;

 private:
  class Collectable;
  MetricsEndpoint() = default;

  std::shared_ptr<Collectable> collectable_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace herd

#endif  // HERD_METRICS_METRICS_ENDPOINT_H_
