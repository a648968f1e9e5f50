#include "metrics/metrics_endpoint.h"

#include <exception>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>

#include "absl/strings/str_cat.h"

namespace herd {

class MetricsEndpoint::Collectable : public prometheus::Collectable {
 public:
  explicit Collectable(CollectFunction collect) : collect_(std::move(collect)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    FamilyBuilder builder;
    collect_(builder);
    return builder.Take();
  }

 private:
  const CollectFunction collect_;
};

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const std::string& address,
                                                                        CollectFunction collect) {
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->collectable_ = std::make_shared<Collectable>(std::move(collect));
  try {
    // Two threads: a scrape never waits for another one.
    endpoint->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics ", address, ": cannot listen (address in use?): ", e.what()));
  }
  endpoint->exposer_->RegisterCollectable(endpoint->collectable_);
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() {
  exposer_.reset();  // stops the server threads before the collectable goes
}

int MetricsEndpoint::port() const {
  const std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace herd
