// The metric cells (sharded counters, the latency histogram), the family
// builder's text as Prometheus reads it, the gRPC call counter, /proc
// statistics and the servers[].metrics key.

#include <gtest/gtest.h>

#include <unistd.h>

#include <limits>
#include <map>
#include <thread>
#include <vector>

#include <prometheus/text_serializer.h>

#include "app/config.h"
#include "common/metric_cells.h"
#include "common/server_metrics.h"
#include "metrics/family_builder.h"
#include "metrics/grpc_call_counter.h"
#include "metrics/metered_places_provider.h"
#include "metrics/process_stats.h"

namespace herd {
namespace {

TEST(ShardedCounterTest, SumsEveryThreadsAdds) {
  ShardedCounter counter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&counter] {
      for (int i = 0; i < 10'000; ++i) counter.Add();
      counter.Add(5);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.Value(), 12u * 10'005u);
}

TEST(LatencyHistogramTest, PutsValuesInTheFirstBucketWhoseBoundIsAtLeastThem) {
  LatencyHistogram histogram;
  histogram.ObserveNanos(0);
  histogram.ObserveNanos(-5);         // a clock step back counts as 0
  histogram.ObserveNanos(1'000);      // exactly 1 us: le=1e-06
  histogram.ObserveNanos(1'001);      // le=2.5e-06
  histogram.ObserveNanos(7'000'000);  // le=0.01
  histogram.ObserveSeconds(60);       // beyond 10 s: +Inf
  const LatencyHistogram::Snapshot s = histogram.Read();
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(s.counts[0], 3u);
  EXPECT_EQ(s.counts[1], 1u);
  EXPECT_EQ(s.counts[12], 1u);  // 10'000'000 ns
  EXPECT_EQ(s.counts[LatencyHistogram::kBuckets - 1], 1u);
  EXPECT_NEAR(s.sum_seconds, 60.007002001, 1e-9);
}

TEST(LatencyHistogramTest, CountsEveryThreadsObservations) {
  LatencyHistogram histogram;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&histogram] {
      for (int i = 0; i < 5'000; ++i) histogram.ObserveNanos(300'000);
    });
  }
  for (std::thread& thread : threads) thread.join();
  const LatencyHistogram::Snapshot s = histogram.Read();
  EXPECT_EQ(s.count, 40'000u);
  EXPECT_EQ(s.counts[8], 40'000u);  // le=5e-4
  EXPECT_NEAR(s.sum_seconds, 12.0, 1e-9);
}

std::string Text(FamilyBuilder& builder) {
  return prometheus::TextSerializer().Serialize(builder.Take());
}

TEST(FamilyBuilderTest, WritesCountersAndGaugesWithTheirLabels) {
  FamilyBuilder builder;
  builder.Family("herd_x_total", "X.", prometheus::MetricType::Counter)
      .Counter(3, {{"kind", "IAMAT"}, {"outcome", "accepted"}});
  builder.Counter(4, {{"kind", "WHATSAT"}, {"outcome", "answered"}});
  builder.Family("herd_open", "Open.", prometheus::MetricType::Gauge).Gauge(2);
  EXPECT_EQ(Text(builder),
            "# HELP herd_x_total X.\n"
            "# TYPE herd_x_total counter\n"
            "herd_x_total{kind=\"IAMAT\",outcome=\"accepted\"} 3\n"
            "herd_x_total{kind=\"WHATSAT\",outcome=\"answered\"} 4\n"
            "# HELP herd_open Open.\n"
            "# TYPE herd_open gauge\n"
            "herd_open 2\n");
}

TEST(FamilyBuilderTest, MakesHistogramBucketsCumulativeWithInf) {
  LatencyHistogram histogram;
  histogram.ObserveNanos(500);
  histogram.ObserveNanos(2'000);
  histogram.ObserveNanos(20'000'000'000);
  FamilyBuilder builder;
  builder.Family("herd_d_seconds", "D.", prometheus::MetricType::Histogram)
      .Histogram(histogram.Read(), {{"kind", "IAMAT"}});
  const std::string text = Text(builder);
  EXPECT_NE(text.find("herd_d_seconds_count{kind=\"IAMAT\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("herd_d_seconds_bucket{kind=\"IAMAT\",le=\"1e-06\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("herd_d_seconds_bucket{kind=\"IAMAT\",le=\"2.5e-06\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("herd_d_seconds_bucket{kind=\"IAMAT\",le=\"10\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("herd_d_seconds_bucket{kind=\"IAMAT\",le=\"+Inf\"} 3\n"), std::string::npos)
      << text;
}

TEST(ServerMetricsTest, FindsOnlyConfiguredNeighbours) {
  ServerMetrics metrics;
  metrics.neighbours["Jaquez"] = std::make_unique<ServerMetrics::Neighbour>();
  EXPECT_NE(metrics.FindNeighbour("Jaquez"), nullptr);
  EXPECT_EQ(metrics.FindNeighbour("Mallory"), nullptr);
  metrics.CountRecord(ServerMetrics::kPeer, true);
  metrics.CountRecord(ServerMetrics::kPeer, false);
  metrics.CountRecord(ServerMetrics::kPeer, false);
  EXPECT_EQ(metrics.records_accepted[ServerMetrics::kPeer].Value(), 1u);
  EXPECT_EQ(metrics.records_not_newer[ServerMetrics::kPeer].Value(), 2u);
  EXPECT_EQ(metrics.records_accepted[ServerMetrics::kEdge].Value(), 0u);
}

TEST(GrpcCallCounterTest, CountsByMethodAndCode) {
  GrpcCallCounter counter;
  counter.Count("/herd.v1.Locations/Get", 0);
  counter.Count("/herd.v1.Locations/Get", 0);
  counter.Count("/herd.v1.Locations/Get", 5);
  std::map<std::pair<std::string, int>, uint64_t> calls;
  for (const GrpcCallCounter::Entry& e : counter.Snapshot()) calls[{e.method, e.code}] = e.calls;
  EXPECT_EQ(calls,
            (std::map<std::pair<std::string, int>, uint64_t>{{{"/herd.v1.Locations/Get", 0}, 2},
                                                             {{"/herd.v1.Locations/Get", 5}, 1}}));
}

// Answers with the status it is given, at once.
class FixedProvider : public PlacesProvider {
 public:
  explicit FixedProvider(std::string status) : status_(std::move(status)) {}
  void Nearby(const PlacesQuery&, Callback done) override {
    std::move(done)(nlohmann::json{{"status", status_}, {"results", nlohmann::json::array()}});
  }

 private:
  std::string status_;
};

TEST(MeteredPlacesProviderTest, CountsAnswersByStatusAndRenderedMisses) {
  MeteredPlacesProvider denied(std::make_unique<FixedProvider>("REQUEST_DENIED"), "google");
  MeteredPlacesProvider odd(std::make_unique<FixedProvider>("SOMETHING_NEW"), "google");
  nlohmann::json seen;
  denied.Nearby({}, [&](nlohmann::json response) { seen = std::move(response); });
  EXPECT_EQ(seen["status"], "REQUEST_DENIED");  // passed through untouched
  denied.Nearby({}, [](nlohmann::json) {});
  odd.Nearby({}, [](nlohmann::json) {});
  EXPECT_EQ(denied.RenderedNow({}), nullptr);
  EXPECT_EQ(denied.counters().answers[3].Value(), 2u);  // REQUEST_DENIED
  EXPECT_EQ(denied.counters().answers[0].Value(), 0u);  // OK
  EXPECT_EQ(odd.counters().answers[6].Value(), 1u);     // OTHER
  EXPECT_EQ(denied.counters().duration.Read().count, 2u);
  EXPECT_EQ(denied.counters().rendered_misses.Value(), 1u);
  EXPECT_EQ(denied.counters().rendered_hits.Value(), 0u);
}

// Answers only when told to, like a provider waiting on Google.
class HeldProvider : public PlacesProvider {
 public:
  void Nearby(const PlacesQuery&, Callback done) override { held_.push_back(std::move(done)); }
  void AnswerAll() {
    for (Callback& done : held_) std::move(done)(nlohmann::json{{"status", "OK"}});
    held_.clear();
  }

 private:
  std::vector<Callback> held_;
};

TEST(MeteredPlacesProviderTest, CountsQuestionsInProgress) {
  auto held = std::make_unique<HeldProvider>();
  HeldProvider* inner = held.get();
  MeteredPlacesProvider metered(std::move(held), "google");
  for (int i = 0; i < 3; ++i) metered.Nearby({}, [](nlohmann::json) {});
  EXPECT_EQ(metered.counters().in_progress.load(), 3);
  inner->AnswerAll();
  EXPECT_EQ(metered.counters().in_progress.load(), 0);
  EXPECT_EQ(metered.counters().answers[0].Value(), 3u);  // OK
}

TEST(ProcessStatsTest, ReadsThisProcess) {
  const std::optional<ProcessStats> stats = ReadProcessStats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_GT(stats->resident_bytes, 1u << 20);
  EXPECT_GE(stats->open_fds, 3u);  // stdin, stdout, stderr at least
  EXPECT_GT(stats->start_time_seconds, 1.6e9);
  const uint64_t before = stats->open_fds;
  const int fd = dup(1);
  EXPECT_EQ(ReadProcessStats()->open_fds, before + 1);
  close(fd);
}

TEST(MetricsConfigTest, ParsesAnOptionalMetricsAddress) {
  absl::StatusOr<HerdConfig> config = ParseConfig(R"({
    "servers": [
      {"name": "A", "edge": "127.0.0.1:1", "grpc": "127.0.0.1:2", "metrics": "127.0.0.1:3"},
      {"name": "B", "edge": "127.0.0.1:4", "grpc": "127.0.0.1:5"}],
    "links": [["A", "B"]]})",
                                                  "/tmp");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->servers[0].metrics.has_value());
  EXPECT_EQ(config->servers[0].metrics->ToString(), "127.0.0.1:3");
  EXPECT_FALSE(config->servers[1].metrics.has_value());
  absl::StatusOr<HerdConfig> clash = ParseConfig(R"({
    "servers": [
      {"name": "A", "edge": "127.0.0.1:1", "grpc": "127.0.0.1:2", "metrics": "127.0.0.1:1"}],
    "links": []})",
                                                 "/tmp");
  EXPECT_FALSE(clash.ok());
  absl::StatusOr<HerdConfig> bad = ParseConfig(R"({
    "servers": [
      {"name": "A", "edge": "127.0.0.1:1", "grpc": "127.0.0.1:2", "metrics": "nowhere"}],
    "links": []})",
                                               "/tmp");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("metrics"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace herd
