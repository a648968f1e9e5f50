#ifndef HERD_METRICS_FAMILY_BUILDER_H_
#define HERD_METRICS_FAMILY_BUILDER_H_

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "common/metric_cells.h"

namespace herd {

// Builds the metric families of one scrape: a family per name, samples
// added with their labels. Counters, gauges and LatencyHistogram snapshots
// (made cumulative here, as the text format wants).
//
// Not thread-safe: one per scrape.
class FamilyBuilder {
 public:
  using Labels = std::vector<prometheus::ClientMetric::Label>;

  // Starts (or continues, if `name` is the last family) a family.
  FamilyBuilder& Family(const std::string& name, const std::string& help,
                        prometheus::MetricType type);
  void Counter(double value, Labels labels = {});
  void Gauge(double value, Labels labels = {});
  void Histogram(const LatencyHistogram::Snapshot& snapshot, Labels labels = {});

  std::vector<prometheus::MetricFamily> Take() { return std::move(families_); }

 private:
  prometheus::ClientMetric& Add(Labels labels);
  std::vector<prometheus::MetricFamily> families_;
};

}  // namespace herd

#endif  // HERD_METRICS_FAMILY_BUILDER_H_
