// servers[].metrics on real `herd serve` processes: scrape the Prometheus
// endpoint over HTTP and check the counters move exactly as the commands and
// peer events sent say they must.

#include <signal.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "herd/v1/fences.grpc.pb.h"
#include "herd/v1/locations.grpc.pb.h"
#include "tests/integration/herd_process.h"

namespace herd::testing {
namespace {

// Samples of one scrape, keyed by the text before the value:
// `herd_edge_commands_total{kind="IAMAT",outcome="accepted"}`.
using Samples = std::map<std::string, double>;

// GET /metrics on 127.0.0.1:port; empty if nothing answered with 200.
std::string Scrape(uint16_t port) {
  const std::string response = Exchange(port, "GET /metrics HTTP/1.0\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0 && response.rfind("HTTP/1.0 200", 0) != 0) {
    return "";
  }
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

Samples Parse(const std::string& text) {
  Samples samples;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

// The value of `key` in a fresh scrape of `port`; -1 if it is absent.
double Value(uint16_t port, const std::string& key) {
  const Samples samples = Parse(Scrape(port));
  auto it = samples.find(key);
  return it == samples.end() ? -1 : it->second;
}

// Scrapes until one succeeds (the endpoint starts just after the edge).
Samples ScrapeWhenUp(uint16_t port) {
  Samples samples;
  WaitFor([&] {
    samples = Parse(Scrape(port));
    return !samples.empty();
  });
  return samples;
}

// A scrape once the server has counted the one connection HerdProcesses
// opened to see it accept, and closed it: the server counts asynchronously,
// so a scrape taken earlier would put that connection in the test's delta.
Samples ScrapeWhenSettled(uint16_t port) {
  Samples samples;
  WaitFor([&] {
    samples = Parse(Scrape(port));
    return samples.count("herd_edge_connections_accepted_total") &&
           samples["herd_edge_connections_accepted_total"] >= 1 &&
           samples.count("herd_edge_connections_open") &&
           samples["herd_edge_connections_open"] == 0;
  });
  return samples;
}

double Delta(const Samples& before, const Samples& after, const std::string& key) {
  auto a = after.find(key);
  if (a == after.end()) return -1e9;  // absent: fails any expectation
  auto b = before.find(key);
  return a->second - (b == before.end() ? 0 : b->second);
}

constexpr char kIamatAccepted[] = R"(herd_edge_commands_total{kind="IAMAT",outcome="accepted"})";
constexpr char kIamatNotNewer[] = R"(herd_edge_commands_total{kind="IAMAT",outcome="not_newer"})";
constexpr char kIamatInvalid[] = R"(herd_edge_commands_total{kind="IAMAT",outcome="invalid"})";
constexpr char kWhatsatAnswered[] =
    R"(herd_edge_commands_total{kind="WHATSAT",outcome="answered"})";
constexpr char kWhatsatInvalid[] = R"(herd_edge_commands_total{kind="WHATSAT",outcome="invalid"})";
constexpr char kOtherInvalid[] = R"(herd_edge_commands_total{kind="other",outcome="invalid"})";

TEST(MetricsTest, EdgeStoreAndPlacesCountersMoveExactlyWithTheCommands) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t metrics = herd.metrics_port("Riley");
  const Samples before = ScrapeWhenSettled(metrics);
  ASSERT_FALSE(before.empty()) << "no metrics on port " << metrics;

  // One connection, a known sequence of commands.
  const std::string replies =
      Exchange(herd.edge_port("Riley"),
               "IAMAT kiwi +34.068930-118.445127 1621464827.959498503\n"  // accepted
               "IAMAT kiwi +34.068930-118.445127 1621464827.959498503\n"  // not newer
               "IAMAT kiwi +34.068930-118.445127 1621464826\n"            // not newer (older)
               "IAMAT kiwi +34.068930-118.445127 99999999999\n"           // too far ahead: invalid
               "IAMAT kiwi nowhere 1621464827\n"                          // malformed: invalid
               "WHATSAT kiwi 10 5\n"                                      // answered
               "WHATSAT nobody 10 5\n"                                    // unknown client: invalid
               "HELLO there\n");                                          // other: invalid
  ASSERT_FALSE(replies.empty());
  const Samples after = Parse(Scrape(metrics));

  EXPECT_EQ(Delta(before, after, kIamatAccepted), 1);
  EXPECT_EQ(Delta(before, after, kIamatNotNewer), 2);
  EXPECT_EQ(Delta(before, after, kIamatInvalid), 2);
  EXPECT_EQ(Delta(before, after, kWhatsatAnswered), 1);
  EXPECT_EQ(Delta(before, after, kWhatsatInvalid), 1);
  EXPECT_EQ(Delta(before, after, kOtherInvalid), 1);
  EXPECT_EQ(Delta(before, after, "herd_edge_connections_accepted_total"), 1);
  EXPECT_EQ(Delta(before, after, "herd_edge_connections_refused_total"), 0);
  EXPECT_EQ(Delta(before, after, R"(herd_store_records_total{source="edge",outcome="accepted"})"),
            1);
  EXPECT_EQ(Delta(before, after, R"(herd_store_records_total{source="edge",outcome="not_newer"})"),
            2);
  EXPECT_EQ(Delta(before, after, R"(herd_store_records_total{source="peer",outcome="accepted"})"),
            0);
  EXPECT_EQ(after.at("herd_store_clients"), 1);
  // Timed: the valid commands (3 IAMATs, 1 WHATSAT), not the invalid ones.
  EXPECT_EQ(Delta(before, after, R"(herd_edge_reply_duration_seconds_count{kind="IAMAT"})"), 3);
  EXPECT_EQ(Delta(before, after, R"(herd_edge_reply_duration_seconds_count{kind="WHATSAT"})"), 1);
  EXPECT_EQ(
      Delta(before, after, R"(herd_edge_reply_duration_seconds_bucket{kind="IAMAT",le="+Inf"})"),
      3);
  // The offline provider has no rendered cache: one miss, one OK answer.
  EXPECT_EQ(Delta(before, after, R"(herd_places_requests_total{provider="offline",status="OK"})"),
            1);
  EXPECT_EQ(
      Delta(before, after, R"(herd_places_rendered_cache_total{provider="offline",result="miss"})"),
      1);
  EXPECT_EQ(
      Delta(before, after, R"(herd_places_request_duration_seconds_count{provider="offline"})"), 1);
  EXPECT_GT(after.at("herd_process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(after.at("herd_process_open_fds"), 3);
  EXPECT_GT(after.at("herd_process_cpu_seconds_total"), 0);
  // The log's writer counts lines as it writes them, a moment later.
  EXPECT_TRUE(WaitFor([&] {
    return Value(metrics, "herd_log_lines_written_total") >=
           before.at("herd_log_lines_written_total") + 16;  // 8 lines in, 8 replies out
  }));
  EXPECT_EQ(after.at("herd_log_lines_dropped_total"), 0);
}

TEST(MetricsTest, ApiCallsAreCountedByMethodAndCode) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t metrics = herd.metrics_port("Riley");
  ASSERT_FALSE(ScrapeWhenUp(metrics).empty());
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(herd.grpc_port("Riley")),
                                     grpc::InsecureChannelCredentials());
  auto locations = v1::Locations::NewStub(channel);
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext context;
    v1::GetRequest request;
    request.set_client_id("nobody");
    v1::Location response;
    EXPECT_EQ(locations->Get(&context, request, &response).error_code(), grpc::NOT_FOUND);
  }
  grpc::ClientContext context;
  v1::ReportRequest report;
  report.set_client_id("kiwi");
  report.set_latitude(34.06893);
  report.set_longitude(-118.445127);
  report.mutable_client_time()->set_seconds(1621464827);
  v1::ReportResponse reported;
  ASSERT_TRUE(locations->Report(&context, report, &reported).ok());
  // The status is counted as it is sent, just before the client sees it.
  EXPECT_TRUE(WaitFor([&] {
    const Samples samples = Parse(Scrape(metrics));
    auto get =
        samples.find(R"(herd_grpc_calls_total{method="/herd.v1.Locations/Get",code="NOT_FOUND"})");
    auto put =
        samples.find(R"(herd_grpc_calls_total{method="/herd.v1.Locations/Report",code="OK"})");
    return get != samples.end() && get->second == 2 && put != samples.end() && put->second == 1;
  })) << Scrape(metrics);
  const Samples after = Parse(Scrape(metrics));
  EXPECT_EQ(after.at(R"(herd_store_records_total{source="api",outcome="accepted"})"), 1);
  EXPECT_EQ(after.at("herd_api_watch_streams"), 0);
}

TEST(MetricsTest, FencesAndTheirEventsAreCounted) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t metrics = herd.metrics_port("Riley");
  ASSERT_FALSE(ScrapeWhenUp(metrics).empty());
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(herd.grpc_port("Riley")),
                                     grpc::InsecureChannelCredentials());
  const Samples before = Parse(Scrape(metrics));
  EXPECT_EQ(before.at("herd_fences"), 0);
  v1::SetFenceRequest set;
  set.mutable_fence()->set_id("ucla");
  set.mutable_fence()->mutable_circle()->set_latitude(34.068930);
  set.mutable_fence()->mutable_circle()->set_longitude(-118.445127);
  set.mutable_fence()->mutable_circle()->set_radius_m(500);
  grpc::ClientContext context;
  v1::Fence stored;
  ASSERT_TRUE(v1::Fences::NewStub(channel)->Set(&context, set, &stored).ok());
  // A new client inside the circle: ENTER, fired before the AT reply.
  ASSERT_EQ(FirstLine(Exchange(herd.edge_port("Riley"),
                               "IAMAT kiwi +34.068930-118.445127 1621464827.959498503\n"))
                .substr(0, 3),
            "AT ");
  const Samples after = Parse(Scrape(metrics));
  EXPECT_EQ(after.at("herd_fences"), 1);
  EXPECT_EQ(Delta(before, after, "herd_fence_events_total"), 1);
  EXPECT_EQ(after.at("herd_fence_watch_streams"), 0);
  EXPECT_EQ(Delta(before, after, R"(herd_fence_webhooks_total{outcome="delivered"})"), 0);
  EXPECT_EQ(after.at("herd_fence_webhooks_held"), 0);
}

TEST(MetricsTest, PeerCountersFollowARecordAndAReconnect) {
  HerdProcesses herd({"Riley", "Jaquez"}, {{"Riley", "Jaquez"}});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t riley = herd.metrics_port("Riley");
  const uint16_t jaquez = herd.metrics_port("Jaquez");
  ASSERT_FALSE(ScrapeWhenUp(riley).empty());
  ASSERT_FALSE(ScrapeWhenUp(jaquez).empty());
  EXPECT_TRUE(
      WaitFor([&] { return Value(riley, R"(herd_peer_link_up{neighbour="Jaquez"})") == 1; }));

  Exchange(herd.edge_port("Riley"), "IAMAT kiwi +34.068930-118.445127 1621464827.959498503\n");
  EXPECT_TRUE(WaitFor([&] {
    return Value(jaquez, R"(herd_peer_records_accepted_total{neighbour="Riley"})") == 1;
  }));
  const Samples at_jaquez = Parse(Scrape(jaquez));
  EXPECT_EQ(at_jaquez.at(R"(herd_peer_records_received_total{neighbour="Riley"})"), 1);
  EXPECT_EQ(at_jaquez.at(R"(herd_store_records_total{source="peer",outcome="accepted"})"), 1);
  EXPECT_EQ(at_jaquez.at(R"(herd_store_records_total{source="edge",outcome="accepted"})"), 0);
  EXPECT_EQ(at_jaquez.at(R"(herd_peer_propagation_lag_seconds_count{neighbour="Riley"})"), 1);
  EXPECT_GE(at_jaquez.at(R"(herd_peer_seconds_since_last_received{neighbour="Riley"})"), 0);
  EXPECT_EQ(at_jaquez.at("herd_store_clients"), 1);
  EXPECT_TRUE(WaitFor(
      [&] { return Value(riley, R"(herd_peer_records_sent_total{neighbour="Jaquez"})") == 1; }));
  EXPECT_EQ(Value(riley, R"(herd_peer_reconnects_total{neighbour="Jaquez"})"), 0);

  // Jaquez goes away: the link is down; back with a new epoch: one
  // reconnect, and the full state (one record) flows again.
  herd.Stop("Jaquez", SIGKILL);
  EXPECT_TRUE(
      WaitFor([&] { return Value(riley, R"(herd_peer_link_up{neighbour="Jaquez"})") == 0; }));
  ASSERT_TRUE(herd.Start("Jaquez"));
  EXPECT_TRUE(WaitFor([&] {
    return Value(riley, R"(herd_peer_reconnects_total{neighbour="Jaquez"})") == 1 &&
           Value(riley, R"(herd_peer_link_up{neighbour="Jaquez"})") == 1;
  }));
  EXPECT_TRUE(WaitFor([&] {
    return Value(jaquez, R"(herd_peer_records_accepted_total{neighbour="Riley"})") == 1;
  }));
  // Counted once the write completes, which can be after Jaquez read it.
  EXPECT_TRUE(WaitFor(
      [&] { return Value(riley, R"(herd_peer_records_sent_total{neighbour="Jaquez"})") == 2; }));
}

TEST(MetricsTest, AMetricsAddressMayNameAHost) {
  // civetweb takes numeric addresses only: the server resolves the name.
  HerdProcesses herd({"Riley"}, {});
  nlohmann::json config;
  {
    std::ifstream in(herd.config_path());
    config = nlohmann::json::parse(in);
  }
  config["servers"][0]["metrics"] = "localhost:" + std::to_string(herd.metrics_port("Riley"));
  std::ofstream(herd.config_path()) << config.dump();
  ASSERT_TRUE(herd.StartAll());
  EXPECT_FALSE(ScrapeWhenUp(herd.metrics_port("Riley")).empty());
}

TEST(MetricsTest, AMetricsPortInUseIsAnErrorNamingIt) {
  HerdProcesses first({"Riley"}, {});
  ASSERT_TRUE(first.StartAll());
  ASSERT_FALSE(ScrapeWhenUp(first.metrics_port("Riley")).empty());
  std::ifstream in(first.config_path());
  nlohmann::json config = nlohmann::json::parse(in);
  const std::vector<uint16_t> ports = first.MorePorts(2);
  config["servers"][0]["edge"] = "127.0.0.1:" + std::to_string(ports[0]);
  config["servers"][0]["grpc"] = "127.0.0.1:" + std::to_string(ports[1]);
  const std::string path = first.dir() + "/second.json";
  std::ofstream(path) << config.dump();
  const RunResult result = RunHerd({"serve", "Riley", "--config", path});
  EXPECT_NE(result.exit_status, 0);
  EXPECT_NE(
      result.stderr_text.find("metrics 127.0.0.1:" + std::to_string(first.metrics_port("Riley"))),
      std::string::npos)
      << result.stderr_text;
}

}  // namespace
}  // namespace herd::testing
