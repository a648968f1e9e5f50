// Geofences (issue 15) on the default five-server herd of real `herd serve`
// processes with a data_dir: a fence set at one server reaches all of them
// and survives SIGKILL and restarts; a client that reports to different
// servers in turn fires ENTER and EXIT once each, at the server its report
// went to (which knows the previous position through the flood); webhooks
// reach a real HTTP server on loopback, once per event, from the origin.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "herd/v1/fences.grpc.pb.h"
#include "herd/v1/locations.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/integration/grpcurl_client.h"
#include "tests/integration/herd_process.h"
#include "tests/places/fake_google_server.h"
#include "tests/testing/wait.h"

namespace herd::testing {
namespace {

// A circle of 1 km around (34, -118), and points just in and out of it.
constexpr char kInside[] = "+34.000000-118.000000";
constexpr char kOutside[] = "+34.100000-118.000000";

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  context->set_wait_for_ready(true);
  return context;
}

v1::Fence Circle(const std::string& id) {
  v1::Fence fence;
  fence.set_id(id);
  fence.mutable_circle()->set_latitude(34.0);
  fence.mutable_circle()->set_longitude(-118.0);
  fence.mutable_circle()->set_radius_m(1000);
  return fence;
}

// The events one server's Fences/Watch stream delivered, collected by a
// thread of its own.
class EventCollector {
 public:
  EventCollector(std::unique_ptr<v1::Fences::Stub> stub, const std::string& fence_id)
      : stub_(std::move(stub)) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    context_.set_wait_for_ready(true);
    v1::WatchFencesRequest request;
    request.add_fence_ids(fence_id);
    reader_ = stub_->Watch(&context_, request);
    thread_ = std::thread([this] {
      v1::WatchFencesResponse response;
      while (reader_->Read(&response)) {
        std::lock_guard lock(mu_);
        for (const v1::FenceEvent& event : response.events()) events_.push_back(event);
      }
    });
  }
  ~EventCollector() {
    context_.TryCancel();
    thread_.join();
  }

  // The events of `client` so far.
  std::vector<v1::FenceEvent> Of(const std::string& client) const {
    std::lock_guard lock(mu_);
    std::vector<v1::FenceEvent> out;
    for (const v1::FenceEvent& event : events_) {
      if (event.location().record().client_id() == client) out.push_back(event);
    }
    return out;
  }

 private:
  std::unique_ptr<v1::Fences::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchFencesResponse>> reader_;
  mutable std::mutex mu_;
  std::vector<v1::FenceEvent> events_;
  std::thread thread_;
};

class FencesTest : public ::testing::Test {
 protected:
  FencesTest() : herd_(kDefaultHerdNames, kDefaultHerdLinks, {{"data_dir", "data"}}) {}
  void SetUp() override { ASSERT_TRUE(herd_.StartAll()); }

  std::shared_ptr<grpc::Channel> Channel(const std::string& server) {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(herd_.grpc_port(server)),
                               grpc::InsecureChannelCredentials());
  }
  std::unique_ptr<v1::Fences::Stub> Fences(const std::string& server) {
    return v1::Fences::NewStub(Channel(server));
  }
  grpc::Status Set(const std::string& server, const v1::Fence& fence) {
    v1::SetFenceRequest request;
    *request.mutable_fence() = fence;
    v1::Fence stored;
    return Fences(server)->Set(Context().get(), request, &stored);
  }
  // The fence `server` holds, or the status of asking.
  grpc::Status Get(const std::string& server, const std::string& id, v1::Fence* fence) {
    v1::GetFenceRequest request;
    request.set_id(id);
    return Fences(server)->Get(Context().get(), request, fence);
  }
  bool EveryServerHolds(const std::string& id, const std::string& webhook_url = "") {
    for (const std::string& server : herd_.names()) {
      v1::Fence fence;
      if (!Get(server, id, &fence).ok() || fence.webhook_url() != webhook_url) return false;
    }
    return true;
  }
  bool NoServerHolds(const std::string& id) {
    for (const std::string& server : herd_.names()) {
      v1::Fence fence;
      if (Get(server, id, &fence).error_code() != grpc::StatusCode::NOT_FOUND) return false;
    }
    return true;
  }
  std::string Iamat(const std::string& server, const std::string& client,
                    const std::string& location, const std::string& time) {
    return FirstLine(
        Exchange(herd_.edge_port(server), "IAMAT " + client + " " + location + " " + time + "\n"));
  }
  // Whether `server` holds `client` at exactly `time`.
  bool Holds(const std::string& server, const std::string& client, const std::string& time) {
    v1::GetRequest request;
    request.set_client_id(client);
    v1::Location location;
    return v1::Locations::NewStub(Channel(server))->Get(Context().get(), request, &location).ok() &&
           location.record().client_time() == time;
  }
  // Makes `collector` (watching `server`) live, and shows that every event
  // fired at `server` before this call has reached it: a marker client
  // steps in and out of the fence at `server` until one of its events
  // arrives (a server's events reach its streams in the order they fired).
  void Flush(const std::string& server, EventCollector& collector) {
    const std::string marker = "marker-" + server;
    bool seen = WaitFor([&] {
      const size_t before = collector.Of(marker).size();
      const bool inside = (++marker_step_ % 2) == 1;
      Iamat(server, marker, inside ? kInside : kOutside,
            std::to_string(1710000000 + marker_step_) + ".0");
      return WaitFor([&] { return collector.Of(marker).size() > before; },
                     std::chrono::milliseconds(500));
    });
    ASSERT_TRUE(seen) << "no marker event reached " << server << "'s Watch stream";
  }

  HerdProcesses herd_;
  int marker_step_ = 0;
};

TEST_F(FencesTest, AFenceSetAtOneServerReachesEveryServerAndSoDoesItsDeletion) {
  ASSERT_TRUE(Set("Riley", Circle("campus")).ok());
  EXPECT_TRUE(WaitFor([&] { return EveryServerHolds("campus"); }))
      << "the fence set at Riley did not reach every server (Campbell is two links away)";
  v1::DeleteFenceRequest request;
  request.set_id("campus");
  v1::DeleteFenceResponse deleted;
  ASSERT_TRUE(Fences("Campbell")->Delete(Context().get(), request, &deleted).ok());
  EXPECT_TRUE(deleted.fence().version().deleted());
  EXPECT_TRUE(WaitFor([&] { return NoServerHolds("campus"); }))
      << "the deletion at Campbell did not reach every server";
}

TEST_F(FencesTest, ABadFenceIsRefusedNamingItsField) {
  v1::Fence fence = Circle("bad");
  fence.mutable_circle()->set_radius_m(-5);
  const grpc::Status status = Set("Jaquez", fence);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("fence.circle.radius_m"), std::string::npos)
      << status.error_message();
  v1::Fence open_polygon;
  open_polygon.set_id("open");
  open_polygon.mutable_polygon()->set_geojson(
      R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]})");
  EXPECT_EQ(Set("Jaquez", open_polygon).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(FencesTest, EnterAndExitFireOnceEachAtTheServerTheReportWentTo) {
  ASSERT_TRUE(Set("Bernard", Circle("campus")).ok());
  ASSERT_TRUE(WaitFor([&] { return EveryServerHolds("campus"); }));
  std::map<std::string, std::unique_ptr<EventCollector>> watching;
  for (const std::string& server : herd_.names()) {
    watching[server] = std::make_unique<EventCollector>(Fences(server), "campus");
    Flush(server, *watching[server]);
  }

  // Outside, at Riley: nothing fires. Inside, at Jaquez, once Jaquez knows
  // the position Riley took: ENTER there. Outside, at Campbell: EXIT there.
  EXPECT_EQ(Iamat("Riley", "kiwi", kOutside, "1700000001.0").substr(0, 9), "AT Riley ");
  ASSERT_TRUE(WaitFor([&] { return Holds("Jaquez", "kiwi", "1700000001.0"); }));
  Iamat("Jaquez", "kiwi", kInside, "1700000002.0");
  ASSERT_TRUE(WaitFor([&] { return Holds("Campbell", "kiwi", "1700000002.0"); }));
  Iamat("Campbell", "kiwi", kOutside, "1700000003.0");
  ASSERT_TRUE(WaitFor([&] { return Holds("Riley", "kiwi", "1700000003.0"); }));

  for (const std::string& server : herd_.names()) Flush(server, *watching[server]);
  const std::vector<v1::FenceEvent> at_jaquez = watching["Jaquez"]->Of("kiwi");
  const std::vector<v1::FenceEvent> at_campbell = watching["Campbell"]->Of("kiwi");
  ASSERT_EQ(at_jaquez.size(), 1u);
  EXPECT_EQ(at_jaquez[0].kind(), v1::FenceEvent::ENTER);
  EXPECT_EQ(at_jaquez[0].server(), "Jaquez");
  EXPECT_EQ(at_jaquez[0].fence_id(), "campus");
  EXPECT_EQ(at_jaquez[0].location().record().client_time(), "1700000002.0");
  ASSERT_TRUE(at_jaquez[0].has_previous());
  EXPECT_EQ(at_jaquez[0].previous().record().origin(), "Riley")
      << "the previous position came from Riley through the flood";
  ASSERT_EQ(at_campbell.size(), 1u);
  EXPECT_EQ(at_campbell[0].kind(), v1::FenceEvent::EXIT);
  EXPECT_EQ(at_campbell[0].server(), "Campbell");
  EXPECT_NE(at_campbell[0].id(), at_jaquez[0].id());
  for (const std::string& server : {"Riley", "Juzang", "Bernard"}) {
    EXPECT_TRUE(watching[server]->Of("kiwi").empty())
        << server << " fired an event for a report it did not accept from the client";
  }
}

TEST_F(FencesTest, WebhooksArePostedOnceFromTheOrigin) {
  FakeGoogleServer receiver;
  v1::Fence fence = Circle("hooked");
  fence.set_webhook_url(receiver.url() + "/hook");
  ASSERT_TRUE(Set("Juzang", fence).ok());
  ASSERT_TRUE(WaitFor([&] { return EveryServerHolds("hooked", fence.webhook_url()); }));

  Iamat("Riley", "kiwi", kInside, "1700000001.0");  // a new client inside: ENTER at Riley
  ASSERT_TRUE(receiver.WaitForRequests(1, std::chrono::seconds(20)));
  // The flood takes the record to every server; none of them fires again.
  ASSERT_TRUE(WaitFor([&] {
    for (const std::string& server : herd_.names()) {
      if (!Holds(server, "kiwi", "1700000001.0")) return false;
    }
    return true;
  }));
  Iamat("Campbell", "kiwi", kOutside, "1700000002.0");  // EXIT at Campbell
  ASSERT_TRUE(receiver.WaitForRequests(2, std::chrono::seconds(20)));

  // Each server posts in order; a later marker event shows nothing else
  // was on its way from the servers that fired.
  Iamat("Riley", "marker", kInside, "1700000003.0");
  Iamat("Campbell", "marker2", kInside, "1700000003.0");
  ASSERT_TRUE(receiver.WaitForRequests(4, std::chrono::seconds(20)));
  std::vector<nlohmann::json> kiwi;
  std::set<std::string> ids;
  for (const RecordedRequest& request : receiver.requests()) {
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.path, "/hook");
    const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << request.body;
    EXPECT_EQ(request.Header("X-Herd-Event-Id"), body.value("id", ""));
    ids.insert(body.value("id", ""));
    if (request.body.find("\"kiwi\"") != std::string::npos) kiwi.push_back(body);
  }
  EXPECT_EQ(ids.size(), receiver.requests().size()) << "an event was posted twice";
  ASSERT_EQ(kiwi.size(), 2u);
  EXPECT_EQ(kiwi[0].value("server", ""), "Riley");
  EXPECT_EQ(kiwi[0].value("kind", ""), "ENTER");
  EXPECT_EQ(kiwi[1].value("server", ""), "Campbell");
  EXPECT_EQ(kiwi[1].value("kind", ""), "EXIT");
}

TEST_F(FencesTest, FencesSurviveSigkillAndAreCaughtUpAfterARestart) {
  ASSERT_TRUE(Set("Riley", Circle("kept")).ok());
  ASSERT_TRUE(Set("Riley", Circle("dropped")).ok());
  ASSERT_TRUE(WaitFor([&] { return EveryServerHolds("kept") && EveryServerHolds("dropped"); }));

  // Campbell misses a new fence and a deletion while it is down.
  ASSERT_EQ(herd_.Stop("Campbell", SIGKILL), 128 + SIGKILL);
  ASSERT_TRUE(Set("Bernard", Circle("while-down")).ok());
  v1::DeleteFenceRequest request;
  request.set_id("dropped");
  v1::DeleteFenceResponse deleted;
  ASSERT_TRUE(Fences("Juzang")->Delete(Context().get(), request, &deleted).ok());
  // Riley, which comes back alone from disk below, has both changes first.
  ASSERT_TRUE(WaitFor([&] {
    v1::Fence fence;
    return Get("Riley", "while-down", &fence).ok() &&
           Get("Riley", "dropped", &fence).error_code() == grpc::StatusCode::NOT_FOUND;
  }));
  ASSERT_TRUE(herd_.Start("Campbell"));
  EXPECT_TRUE(WaitFor([&] {
    v1::Fence fence;
    return Get("Campbell", "while-down", &fence).ok() &&
           Get("Campbell", "dropped", &fence).error_code() == grpc::StatusCode::NOT_FOUND;
  })) << "Campbell did not catch up on the fence changes it missed";

  // Every server killed at once: the fences come back from disk.
  for (const std::string& server : herd_.names()) {
    ASSERT_EQ(herd_.Stop(server, SIGKILL), 128 + SIGKILL);
  }
  ASSERT_TRUE(herd_.Start("Riley"));
  v1::Fence fence;
  EXPECT_TRUE(Get("Riley", "kept", &fence).ok()) << "Riley lost a fence it held before SIGKILL";
  EXPECT_TRUE(Get("Riley", "while-down", &fence).ok());
  EXPECT_EQ(Get("Riley", "dropped", &fence).error_code(), grpc::StatusCode::NOT_FOUND)
      << "a deleted fence came back";
}

TEST_F(FencesTest, EveryReadmeGrpcurlExampleWorksThroughReflectionAlone) {
  ReflectionClient client(Channel("Riley"));
  ASSERT_TRUE(client.Load("herd.v1.Fences"));
  const google::protobuf::ServiceDescriptor* service =
      client.pool().FindServiceByName("herd.v1.Fences");
  ASSERT_NE(service, nullptr);
  const std::vector<GrpcurlExample> examples =
      ReadmeExamples(std::string(HERD_SOURCE_DIR) + "/README.md", "herd.v1.Fences");
  std::set<std::string> covered;
  for (const GrpcurlExample& example : examples) {
    const bool watch = example.method == "herd.v1.Fences/Watch";
    // A Watch answers once an event fires: kiwi steps in and out of "ucla".
    std::atomic<bool> done = false;
    std::thread stepper;
    if (watch) {
      stepper = std::thread([&] {
        for (int step = 1; !done.load(); ++step) {
          Iamat("Riley", "kiwi.cs.ucla.edu", step % 2 == 1 ? "+34.068930-118.445127" : kOutside,
                std::to_string(1720000000 + step) + ".0");
          std::this_thread::sleep_for(std::chrono::milliseconds(50));  // pacing the steps
        }
      });
    }
    std::vector<std::string> responses;
    const grpc::Status status = client.Call(example.method, example.json, &responses);
    done.store(true);
    if (stepper.joinable()) stepper.join();
    EXPECT_TRUE(status.ok() || (status.error_code() == grpc::StatusCode::CANCELLED && watch))
        << example.line << ": " << status.error_message();
    EXPECT_EQ(responses.size(), 1u) << example.line;
    covered.insert(example.method.substr(example.method.find('/') + 1));
  }
  for (int i = 0; i < service->method_count(); ++i) {
    EXPECT_TRUE(covered.count(service->method(i)->name())) << service->method(i)->name();
  }
}

}  // namespace
}  // namespace herd::testing
