#include "metrics/family_builder.h"

#include <limits>
#include <utility>

namespace herd {

FamilyBuilder& FamilyBuilder::Family(const std::string& name, const std::string& help,
                                     prometheus::MetricType type) {
  if (families_.empty() || families_.back().name != name) {
    families_.push_back({name, help, type, {}});
  }
  return *this;
}

prometheus::ClientMetric& FamilyBuilder::Add(Labels labels) {
  prometheus::ClientMetric& metric = families_.back().metric.emplace_back();
  metric.label = std::move(labels);
  return metric;
}

void FamilyBuilder::Counter(double value, Labels labels) {
  Add(std::move(labels)).counter.value = value;
}

void FamilyBuilder::Gauge(double value, Labels labels) {
  Add(std::move(labels)).gauge.value = value;
}

void FamilyBuilder::Histogram(const LatencyHistogram::Snapshot& snapshot, Labels labels) {
  prometheus::ClientMetric& metric = Add(std::move(labels));
  metric.histogram.sample_count = snapshot.count;
  metric.histogram.sample_sum = snapshot.sum_seconds;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    cumulative += snapshot.counts[i];
    const double bound = i < LatencyHistogram::kBoundsNs.size()
                             ? static_cast<double>(LatencyHistogram::kBoundsNs[i]) / 1e9
                             : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back({cumulative, bound});
  }
}

}  // namespace herd
