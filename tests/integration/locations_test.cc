// herd.v1.Locations on the default five-server herd of real `herd serve`
// processes: a Watch at Campbell sees what is reported at Riley (it arrives
// through the peers), a Report at one server reaches the others, a stalled
// watcher does not delay IAMAT replies, and every RPC works from the
// README's grpcurl examples with nothing but server reflection (a dynamic
// client built the way grpcurl builds its own).

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "herd/v1/locations.grpc.pb.h"
#include "tests/integration/grpcurl_client.h"
#include "tests/integration/herd_process.h"

namespace herd::testing {
namespace {

const std::vector<std::string>& kNames = kDefaultHerdNames;
const std::vector<std::pair<std::string, std::string>>& kLinks = kDefaultHerdLinks;

std::unique_ptr<grpc::ClientContext> Context(
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  context->set_wait_for_ready(true);  // the server may still be starting
  return context;
}

// A Watch call and its context (which must outlive the reader).
struct WatchCall {
  grpc::ClientContext context;
  std::unique_ptr<v1::Locations::Stub> stub;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader;
};

class LocationsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(herd_.StartAll()); }

  std::string Target(const std::string& server) {
    return "127.0.0.1:" + std::to_string(herd_.grpc_port(server));
  }
  std::unique_ptr<v1::Locations::Stub> Stub(const std::string& server) {
    return v1::Locations::NewStub(
        grpc::CreateChannel(Target(server), grpc::InsecureChannelCredentials()));
  }
  std::string Iamat(const std::string& server, const std::string& client,
                    const std::string& location, const std::string& time) {
    return FirstLine(
        Exchange(herd_.edge_port(server), "IAMAT " + client + " " + location + " " + time + "\n"));
  }
  // A live Watch at `server`, past its first message (so it is registered).
  std::unique_ptr<WatchCall> LiveWatch(const std::string& server,
                                       const grpc::ChannelArguments& args = {}) {
    auto call = std::make_unique<WatchCall>();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    call->context.set_wait_for_ready(true);
    call->stub = v1::Locations::NewStub(
        grpc::CreateCustomChannel(Target(server), grpc::InsecureChannelCredentials(), args));
    call->reader = call->stub->Watch(&call->context, v1::WatchRequest());
    v1::WatchResponse first;
    EXPECT_TRUE(call->reader->Read(&first));
    EXPECT_TRUE(first.initial_state_done());
    return call;
  }

  HerdProcesses herd_{kNames, kLinks};
};

TEST_F(LocationsTest, AWatchAtCampbellSeesAReportAtRileyThroughThePeers) {
  auto watch = LiveWatch("Campbell");
  // Campbell has no link to Riley: the record comes through Juzang or Bernard.
  const std::string at =
      Iamat("Riley", "kiwi.cs.ucla.edu", "+34.068930-118.445127", "1621464827.959498503");
  ASSERT_EQ(at.rfind("AT Riley ", 0), 0u) << at;
  v1::WatchResponse message;
  std::string seen;
  while (seen.empty() && watch->reader->Read(&message)) {
    for (const v1::Location& location : message.locations()) {
      if (location.record().client_id() == "kiwi.cs.ucla.edu") seen = location.at_line();
    }
  }
  EXPECT_EQ(seen, at);  // the origin's AT line, byte for byte
  watch->context.TryCancel();
}

TEST_F(LocationsTest, AReportAtOneServerReachesTheOthers) {
  v1::ReportRequest request;
  request.set_client_id("grpc.client");
  request.set_latitude(34.068930);
  request.set_longitude(-118.445127);
  request.mutable_client_time()->set_seconds(1621464827);
  request.mutable_client_time()->set_nanos(959498503);
  v1::ReportResponse report;
  ASSERT_TRUE(Stub("Jaquez")->Report(Context().get(), request, &report).ok());
  ASSERT_TRUE(report.accepted());
  EXPECT_EQ(report.at_line().rfind("AT Jaquez ", 0), 0u) << report.at_line();
  for (const std::string& server : kNames) {
    auto stub = Stub(server);
    EXPECT_TRUE(WaitFor([&] {
      v1::GetRequest get;
      get.set_client_id("grpc.client");
      v1::Location location;
      return stub->Get(Context().get(), get, &location).ok() &&
             location.at_line() == report.at_line();
    })) << server;
    // The text protocol shows the same record there.
    EXPECT_EQ(FirstLine(Exchange(herd_.edge_port(server), "WHATSAT grpc.client 10 1\n")),
              report.at_line())
        << server;
  }
  // And each server's Within finds it.
  v1::WithinRequest within;
  within.set_latitude(34.07);
  within.set_longitude(-118.44);
  within.set_radius_km(2);
  v1::WithinResponse response;
  ASSERT_TRUE(Stub("Campbell")->Within(Context().get(), within, &response).ok());
  ASSERT_EQ(response.clients_size(), 1);
  EXPECT_EQ(response.clients(0).location().at_line(), report.at_line());
}

TEST_F(LocationsTest, AStalledWatcherDoesNotDelayIamatReplies) {
  grpc::ChannelArguments args;  // small, fixed windows: it blocks soon
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
  auto stalled = LiveWatch("Riley", args);  // and now it never reads
  // 20000 reports on one connection (several MB of Watch messages it does
  // not read), all answered.
  std::string batch;
  constexpr int kReports = 20000;
  for (int i = 0; i < kReports; ++i) {
    batch += "IAMAT client" + std::to_string(i) + " +34.068930-118.445127 " +
             std::to_string(1000 + i) + "\n";
  }
  const std::string replies = Exchange(herd_.edge_port("Riley"), batch);
  EXPECT_EQ(std::count(replies.begin(), replies.end(), '\n'), kReports);
  // An IAMAT round trip stays quick.
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const std::string at = Iamat("Riley", "probe", "+1.0+2.0", std::to_string(5000 + i));
    ASSERT_EQ(at.rfind("AT Riley ", 0), 0u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  }
  // The stalled watcher, reading again, gets the newest of every client.
  std::set<std::string> clients;
  uint64_t skipped = 0;
  v1::WatchResponse message;
  std::string probe_time;
  while ((clients.size() < kReports + 1 || probe_time != "5019") &&
         stalled->reader->Read(&message)) {
    skipped += message.skipped();
    for (const v1::Location& location : message.locations()) {
      clients.insert(location.record().client_id());
      if (location.record().client_id() == "probe") probe_time = location.record().client_time();
    }
  }
  EXPECT_EQ(clients.size(), static_cast<size_t>(kReports + 1));
  EXPECT_EQ(probe_time, "5019");
  stalled->context.TryCancel();
}

TEST_F(LocationsTest, EveryReadmeGrpcurlExampleWorksThroughReflectionAlone) {
  ReflectionClient client(grpc::CreateChannel(Target("Riley"), grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(client.Load("herd.v1.Locations"));
  const google::protobuf::ServiceDescriptor* service =
      client.pool().FindServiceByName("herd.v1.Locations");
  ASSERT_NE(service, nullptr);

  const std::vector<GrpcurlExample> examples =
      ReadmeExamples(std::string(HERD_SOURCE_DIR) + "/README.md", "herd.v1.Locations");
  std::set<std::string> covered;
  for (const GrpcurlExample& example : examples) {
    std::vector<std::string> responses;
    const grpc::Status status = client.Call(example.method, example.json, &responses);
    EXPECT_TRUE(status.ok() || (status.error_code() == grpc::StatusCode::CANCELLED &&
                                example.method == "herd.v1.Locations/Watch"))
        << example.line << ": " << status.error_message();
    EXPECT_EQ(responses.size(), 1u) << example.line;
    std::cout << example.line << "\n  -> "
              << (responses.empty() ? status.error_message() : responses[0]) << "\n";
    covered.insert(example.method.substr(example.method.find('/') + 1));
  }
  // One example at least per RPC of the service.
  for (int i = 0; i < service->method_count(); ++i) {
    EXPECT_TRUE(covered.count(service->method(i)->name())) << service->method(i)->name();
  }
  // Health has a serving status for the service.
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(Target("Riley"), grpc::InsecureChannelCredentials()));
  grpc::health::v1::HealthCheckRequest check;
  check.set_service("herd.v1.Locations");
  grpc::health::v1::HealthCheckResponse serving;
  ASSERT_TRUE(health->Check(Context().get(), check, &serving).ok());
  EXPECT_EQ(serving.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  // And errors come back as grpcurl shows them: a code and a message
  // naming the field.
  std::vector<std::string> responses;
  const grpc::Status bad = client.Call(
      "herd.v1.Locations/Nearby",
      R"({"client_id": "kiwi.cs.ucla.edu", "radius_km": 60, "max_results": 5})", &responses);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad.error_message().rfind("radius_km: ", 0), 0u) << bad.error_message();
}

}  // namespace
}  // namespace herd::testing
