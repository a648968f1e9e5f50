// herd.v1.Locations on the default five-server herd of real `herd serve`
// processes: a Watch at Campbell sees what is reported at Riley (it arrives
// through the peers), a Report at one server reaches the others, a stalled
// watcher does not delay IAMAT replies, and every RPC works from the
// README's grpcurl examples with nothing but server reflection (a dynamic
// client built the way grpcurl builds its own).

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "herd/v1/locations.grpc.pb.h"
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

// --- grpcurl with reflection alone ------------------------------------------

// What grpcurl does: fetch descriptors through server reflection, build
// messages from JSON with them, call the method as raw bytes.
class ReflectionClient {
 public:
  explicit ReflectionClient(std::shared_ptr<grpc::Channel> channel)
      : channel_(std::move(channel)), generic_(channel_) {}

  // Loads the file that defines service `symbol`, and its imports.
  ::testing::AssertionResult Load(const std::string& symbol) {
    using grpc::reflection::v1alpha::ServerReflection;
    using grpc::reflection::v1alpha::ServerReflectionRequest;
    using grpc::reflection::v1alpha::ServerReflectionResponse;
    auto stub = ServerReflection::NewStub(channel_);
    auto context = Context();
    auto stream = stub->ServerReflectionInfo(context.get());
    std::map<std::string, google::protobuf::FileDescriptorProto> files;
    std::vector<std::string> wanted;
    ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    for (;;) {
      if (!stream->Write(request)) return ::testing::AssertionFailure() << "write";
      ServerReflectionResponse response;
      if (!stream->Read(&response)) return ::testing::AssertionFailure() << "read";
      if (!response.has_file_descriptor_response()) {
        return ::testing::AssertionFailure() << "no descriptor for " << request.ShortDebugString();
      }
      for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
        google::protobuf::FileDescriptorProto file;
        file.ParseFromString(bytes);
        for (const std::string& dependency : file.dependency()) wanted.push_back(dependency);
        files[file.name()] = std::move(file);
      }
      while (!wanted.empty() && files.count(wanted.back())) wanted.pop_back();
      if (wanted.empty()) break;
      request.set_file_by_filename(wanted.back());
    }
    stream->WritesDone();
    for (const auto& [name, file] : files) Build(name, files);
    if (pool_.FindServiceByName(symbol) == nullptr) {
      return ::testing::AssertionFailure() << symbol << " not in the files reflection gave";
    }
    return ::testing::AssertionSuccess();
  }

  const google::protobuf::DescriptorPool& pool() const { return pool_; }

  // Calls "package.Service/Method" with a request given as JSON; returns up
  // to `max_responses` responses as JSON (a stream is then cancelled).
  grpc::Status Call(const std::string& method_name, const std::string& json,
                    std::vector<std::string>* responses, int max_responses = 1) {
    const size_t slash = method_name.find('/');
    const google::protobuf::MethodDescriptor* method =
        pool_.FindMethodByName(method_name.substr(0, slash) + "." + method_name.substr(slash + 1));
    if (method == nullptr) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no method");
    std::unique_ptr<google::protobuf::Message> request(
        factory_.GetPrototype(method->input_type())->New());
    if (!google::protobuf::util::JsonStringToMessage(json, request.get()).ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad JSON: " + json);
    }
    grpc::CompletionQueue cq;
    auto context = Context();
    auto call = generic_.PrepareCall(context.get(), "/" + method_name, &cq);
    const auto step = [&cq] {
      void* tag;
      bool ok = false;
      return cq.Next(&tag, &ok) && ok;
    };
    call->StartCall(nullptr);
    step();
    grpc::Slice slice(request->SerializeAsString());
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, nullptr);
    step();
    call->WritesDone(nullptr);
    step();
    for (int i = 0; i < max_responses; ++i) {
      grpc::ByteBuffer received;
      call->Read(&received, nullptr);
      if (!step()) break;
      std::vector<grpc::Slice> slices;
      received.Dump(&slices);
      std::string bytes;
      for (const grpc::Slice& s : slices)
        bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      std::unique_ptr<google::protobuf::Message> response(
          factory_.GetPrototype(method->output_type())->New());
      response->ParseFromString(bytes);
      std::string out;
      google::protobuf::util::MessageToJsonString(*response, &out);
      responses->push_back(out);
      if (i + 1 == max_responses && method->server_streaming()) context->TryCancel();
    }
    grpc::Status status;
    call->Finish(&status, nullptr);
    step();
    cq.Shutdown();
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok)) {
    }
    return status;
  }

 private:
  void Build(const std::string& name,
             const std::map<std::string, google::protobuf::FileDescriptorProto>& files) {
    if (pool_.FindFileByName(name) != nullptr) return;
    const google::protobuf::FileDescriptorProto& file = files.at(name);
    for (const std::string& dependency : file.dependency()) Build(dependency, files);
    pool_.BuildFile(file);
  }

  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub generic_;
  google::protobuf::DescriptorPool pool_;
  google::protobuf::DynamicMessageFactory factory_{&pool_};
};

struct GrpcurlExample {
  std::string line;
  std::string json;    // the -d argument, "{}" if none
  std::string method;  // "herd.v1.Locations/Get"
};

// The README's Locations examples, in order.
std::vector<GrpcurlExample> ReadmeExamples() {
  std::ifstream readme(std::string(HERD_SOURCE_DIR) + "/README.md");
  std::stringstream text;
  text << readme.rdbuf();
  const std::regex example(
      R"(^\s*grpcurl -plaintext (?:-max-time \S+ )?(?:-d '([^']*)' )?127\.0\.0\.1:12100 (herd\.v1\.Locations/\w+)\s*$)");
  std::vector<GrpcurlExample> examples;
  std::string line;
  while (std::getline(text, line)) {
    std::smatch match;
    if (line.find("herd.v1.Locations/") == std::string::npos) continue;
    if (std::regex_match(line, match, example)) {
      examples.push_back({line, match[1].matched ? match[1].str() : "{}", match[2].str()});
    } else if (line.find("grpcurl") != std::string::npos) {
      ADD_FAILURE() << "README example the test cannot read: " << line;
    }
  }
  return examples;
}

TEST_F(LocationsTest, EveryReadmeGrpcurlExampleWorksThroughReflectionAlone) {
  ReflectionClient client(grpc::CreateChannel(Target("Riley"), grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(client.Load("herd.v1.Locations"));
  const google::protobuf::ServiceDescriptor* service =
      client.pool().FindServiceByName("herd.v1.Locations");
  ASSERT_NE(service, nullptr);

  const std::vector<GrpcurlExample> examples = ReadmeExamples();
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
