// herd.v1.Locations over real gRPC: an in-process grpc::Server on a free
// port with a real Store and the real offline Places provider (over a small
// gazetteer), called through generated stubs. Each RPC's success and error
// paths; Watch's initial state, filter and skip accounting with a stalled
// reader that delays no one; Within against a brute-force scan.

#include "api/locations_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "api/location_codec.h"
#include "common/geo.h"
#include "edge/protocol.h"
#include "places/gazetteer.h"
#include "places/offline_provider.h"
#include "store/location_index.h"
#include "store/record.h"
#include "tests/testing/wait.h"

namespace herd {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

constexpr int64_t kNow = 1621464828'223371889;  // the server's clock, fixed

using ::herd::testing::WaitFor;

std::shared_ptr<const Gazetteer> SmallGazetteer() {
  absl::StatusOr<std::unique_ptr<Gazetteer>> g = Gazetteer::FromPlaces({
      {"Bel Air", 34.08334, -118.44869, "US", "California"},
      {"Westwood", 34.05612, -118.43063, "US", "California"},
      {"Santa Monica", 34.01949, -118.49138, "US", "California"},
      {"Pasadena", 34.14778, -118.14452, "US", "California"},
  });
  EXPECT_TRUE(g.ok()) << g.status();
  return std::shared_ptr<const Gazetteer>(*std::move(g));
}

// The offline provider, which can also hold its answers back (a slow
// provider) or answer with a fixed failure.
class TestPlaces : public PlacesProvider {
 public:
  explicit TestPlaces(std::shared_ptr<const Gazetteer> gazetteer)
      : offline_(std::move(gazetteer)) {}

  void Nearby(const PlacesQuery& query, Callback done) override {
    std::optional<nlohmann::json> fixed;
    {
      absl::MutexLock lock(&mu_);
      if (holding_) {
        held_.emplace_back(query, std::move(done));
        return;
      }
      fixed = fixed_;
    }
    std::move(done)(fixed ? *fixed : offline_.Answer(query));
  }

  void Hold() {
    absl::MutexLock lock(&mu_);
    holding_ = true;
  }
  // Stops holding and answers what was held, on the calling thread.
  void Release() {
    std::vector<std::pair<PlacesQuery, Callback>> held;
    {
      absl::MutexLock lock(&mu_);
      holding_ = false;
      held.swap(held_);
    }
    for (auto& [query, done] : held) std::move(done)(offline_.Answer(query));
  }
  size_t held() const {
    absl::MutexLock lock(&mu_);
    return held_.size();
  }
  void AnswerWith(std::optional<nlohmann::json> answer) {
    absl::MutexLock lock(&mu_);
    fixed_ = std::move(answer);
  }

 private:
  OfflinePlacesProvider offline_;
  mutable absl::Mutex mu_;
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::pair<PlacesQuery, Callback>> held_ ABSL_GUARDED_BY(mu_);
  std::optional<nlohmann::json> fixed_ ABSL_GUARDED_BY(mu_);
};

Record Text(const std::string& client, const std::string& location, const std::string& time,
            const std::string& origin = "Riley") {
  return Record{client, origin, "+0.000000001", location, time};
}

// A Watch call and its context (which must outlive the reader).
struct WatchCall {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader;
  bool Next(v1::WatchResponse* response) { return reader->Read(response); }
};

class LocationsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(LocationsService::Options()); }
  void TearDown() override { StopServer(); }

  void StartServer(LocationsService::Options options) {
    options.server_name = "Riley";
    options.clock = [this] { return now_.load(); };
    options.watch.skipped_total = &watch_skipped_;
    service_ =
        std::make_unique<LocationsService>(std::move(options), &store_, &places_, log_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    target_ = absl::StrCat("127.0.0.1:", port);
    channel_ = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
    stub_ = v1::Locations::NewStub(channel_);
  }

  void StopServer() {
    if (server_ == nullptr) return;
    service_->Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    service_.reset();
  }

  static std::unique_ptr<grpc::ClientContext> Context(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + timeout);
    return context;
  }

  grpc::Status Get(const std::string& id, v1::Location* out) {
    v1::GetRequest request;
    request.set_client_id(id);
    return stub_->Get(Context().get(), request, out);
  }

  static v1::ReportRequest ReportOf(const std::string& id, double latitude, double longitude,
                                    int64_t seconds, int32_t nanos = 0) {
    v1::ReportRequest request;
    request.set_client_id(id);
    request.set_latitude(latitude);
    request.set_longitude(longitude);
    request.mutable_client_time()->set_seconds(seconds);
    request.mutable_client_time()->set_nanos(nanos);
    return request;
  }

  grpc::Status Report(const v1::ReportRequest& request, v1::ReportResponse* out = nullptr) {
    v1::ReportResponse ignored;
    return stub_->Report(Context().get(), request, out != nullptr ? out : &ignored);
  }

  grpc::Status List(int32_t page_size, const std::string& token, v1::ListResponse* out) {
    v1::ListRequest request;
    request.set_page_size(page_size);
    request.set_page_token(token);
    return stub_->List(Context().get(), request, out);
  }

  grpc::Status Nearby(const std::string& id, double radius_km, int max_results,
                      v1::NearbyResponse* out,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    v1::NearbyRequest request;
    request.set_client_id(id);
    request.set_radius_km(radius_km);
    request.set_max_results(max_results);
    return stub_->Nearby(Context(timeout).get(), request, out);
  }

  grpc::Status Within(double latitude, double longitude, double radius_km, int limit,
                      v1::WithinResponse* out) {
    v1::WithinRequest request;
    request.set_latitude(latitude);
    request.set_longitude(longitude);
    request.set_radius_km(radius_km);
    request.set_limit(limit);
    return stub_->Within(Context().get(), request, out);
  }

  std::unique_ptr<WatchCall> Watch(const v1::WatchRequest& request,
                                   std::shared_ptr<grpc::Channel> channel = nullptr) {
    auto call = std::make_unique<WatchCall>();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    auto stub = v1::Locations::NewStub(channel != nullptr ? channel : channel_);
    call->reader = stub->Watch(&call->context, request);
    return call;
  }

  Store store_{1};
  std::atomic<int64_t> now_{kNow};
  ShardedCounter watch_skipped_;  // the Watch streams' reported skips
  TestPlaces places_{SmallGazetteer()};
  std::unique_ptr<ServerLog> log_ = ServerLog::Discard();
  std::unique_ptr<LocationsService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string target_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Locations::Stub> stub_;
};

void ExpectInvalid(const grpc::Status& status, const std::string& field) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), StartsWith(field + ": "));
}

// --- Get ------------------------------------------------------------------

TEST_F(LocationsServiceTest, GetReturnsTheStoredRecord) {
  const Record record{"kiwi.cs.ucla.edu", "Jaquez", "+0.263873386", "+34.068930-118.445127",
                      "1621464827.959498503"};
  store_.Apply(record, {"Jaquez", 9});
  v1::Location location;
  ASSERT_TRUE(Get("kiwi.cs.ucla.edu", &location).ok());
  EXPECT_EQ(location.record().client_id(), "kiwi.cs.ucla.edu");
  EXPECT_EQ(location.record().origin(), "Jaquez");
  EXPECT_EQ(location.record().skew(), "+0.263873386");
  EXPECT_EQ(location.record().location(), "+34.068930-118.445127");
  EXPECT_EQ(location.record().client_time(), "1621464827.959498503");
  EXPECT_DOUBLE_EQ(location.latitude(), 34.068930);
  EXPECT_DOUBLE_EQ(location.longitude(), -118.445127);
  EXPECT_EQ(location.at_line(), record.AtLine());
}

TEST_F(LocationsServiceTest, GetErrors) {
  v1::Location location;
  const grpc::Status unknown = Get("nobody", &location);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), StartsWith("client_id: "));
  EXPECT_EQ(Get(std::string(256, 'x'), &location).error_code(), grpc::StatusCode::NOT_FOUND);
  ExpectInvalid(Get("", &location), "client_id");
  ExpectInvalid(Get("two words", &location), "client_id");
  ExpectInvalid(Get(std::string(257, 'x'), &location), "client_id");
}

// --- Report ---------------------------------------------------------------

TEST_F(LocationsServiceTest, ReportStampsTheSameRecordAsTheEdge) {
  v1::ReportResponse response;
  ASSERT_TRUE(
      Report(ReportOf("kiwi.cs.ucla.edu", 34.068930, -118.445127, 1621464827, 959498503), &response)
          .ok());
  EXPECT_TRUE(response.accepted());
  EXPECT_EQ(response.at_line(),
            "AT Riley +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 "
            "1621464827.959498503");
  // What the edge builds for the same IAMAT, with the same clock.
  absl::StatusOr<Command> iamat =
      ParseCommand("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503");
  ASSERT_TRUE(iamat.ok());
  const auto& command = std::get<IamatCommand>(*iamat);
  const Record edge{std::string(command.client_id), "Riley", FormatSkew(kNow, command.client_time),
                    std::string(command.location), std::string(command.client_time)};
  EXPECT_EQ(store_.Get("kiwi.cs.ucla.edu"), edge);
  EXPECT_EQ(response.location().at_line(), edge.AtLine());
  EXPECT_DOUBLE_EQ(response.location().latitude(), 34.068930);
  // A local report: the feed carries it to every neighbour.
  Store::Cursor cursor;
  const std::vector<Store::FeedEntry> feed = store_.ReadAfter(&cursor, 10);
  ASSERT_EQ(feed.size(), 1u);
  EXPECT_EQ(feed[0].via, Store::Source{});
}

TEST_F(LocationsServiceTest, AReportThatIsNotNewerAnswersWithTheStoredRecord) {
  ASSERT_TRUE(Report(ReportOf("kiwi", 1, 2, 200)).ok());
  v1::ReportResponse response;
  now_ = 300'000'000'000;
  ASSERT_TRUE(Report(ReportOf("kiwi", 3, 4, 100), &response).ok());
  EXPECT_FALSE(response.accepted());
  // Its own AT line (as IAMAT answers a report that loses), the stored record.
  EXPECT_EQ(response.at_line(), "AT Riley +200.000000000 kiwi +3.000000+4.000000 100.000000000");
  EXPECT_EQ(response.location().record().client_time(), "200.000000000");
  EXPECT_EQ(response.location().record().location(), "+1.000000+2.000000");
  EXPECT_EQ(store_.Get("kiwi")->client_time, "200.000000000");
}

TEST_F(LocationsServiceTest, ReportValidationNamesTheField) {
  v1::ReportRequest request = ReportOf("kiwi", 0, 0, 1);
  request.clear_client_id();
  ExpectInvalid(Report(request), "client_id");
  request = ReportOf("a b", 0, 0, 1);
  ExpectInvalid(Report(request), "client_id");
  request = ReportOf(std::string(257, 'k'), 0, 0, 1);
  ExpectInvalid(Report(request), "client_id");
  request = ReportOf("kiwi", 0, 0, 1);
  request.clear_latitude();
  ExpectInvalid(Report(request), "latitude");
  ExpectInvalid(Report(ReportOf("kiwi", 90.000001, 0, 1)), "latitude");
  ExpectInvalid(Report(ReportOf("kiwi", std::nan(""), 0, 1)), "latitude");
  request = ReportOf("kiwi", 0, 0, 1);
  request.clear_longitude();
  ExpectInvalid(Report(request), "longitude");
  ExpectInvalid(Report(ReportOf("kiwi", 0, -180.5, 1)), "longitude");
  ExpectInvalid(Report(ReportOf("kiwi", 0, INFINITY, 1)), "longitude");
  request = ReportOf("kiwi", 0, 0, 1);
  request.clear_client_time();
  ExpectInvalid(Report(request), "client_time");
  ExpectInvalid(Report(ReportOf("kiwi", 0, 0, -1)), "client_time");
  ExpectInvalid(Report(ReportOf("kiwi", 0, 0, 1, 1'000'000'000)), "client_time.nanos");
  EXPECT_FALSE(store_.Get("kiwi").has_value());
  // The edges of the ranges are fine.
  EXPECT_TRUE(Report(ReportOf("kiwi", -90, 180, 0)).ok());
  EXPECT_TRUE(Report(ReportOf(std::string(256, 'k'), 90, -180, 1)).ok());
}

// --- List -----------------------------------------------------------------

TEST_F(LocationsServiceTest, ListPagesThroughEveryClientOnceInOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 250; ++i) ids.push_back(absl::StrCat("c", 1000 + i));
  std::shuffle(ids.begin(), ids.end(), std::mt19937(1));
  for (const std::string& id : ids) store_.Apply(Text(id, "+1+2", "1"));
  std::sort(ids.begin(), ids.end());

  std::vector<std::string> listed;
  std::vector<int> page_sizes;
  std::string token;
  do {
    v1::ListResponse page;
    ASSERT_TRUE(List(100, token, &page).ok());
    EXPECT_EQ(page.total_size(), 250u);
    page_sizes.push_back(page.locations_size());
    for (const v1::Location& location : page.locations()) {
      listed.push_back(location.record().client_id());
    }
    token = page.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(page_sizes, (std::vector<int>{100, 100, 50}));
  EXPECT_EQ(listed, ids);
}

TEST_F(LocationsServiceTest, ListDefaultAndMaximumPageSizes) {
  for (int i = 0; i < 1200; ++i) store_.Apply(Text(absl::StrCat("c", 10000 + i), "+1+2", "1"));
  v1::ListResponse page;
  ASSERT_TRUE(List(0, "", &page).ok());
  EXPECT_EQ(page.locations_size(), 100);
  page.Clear();
  ASSERT_TRUE(List(5000, "", &page).ok());
  EXPECT_EQ(page.locations_size(), 1000);
  EXPECT_FALSE(page.next_page_token().empty());
  const std::string token = page.next_page_token();
  page.Clear();
  ASSERT_TRUE(List(5000, token, &page).ok());
  EXPECT_EQ(page.locations_size(), 200);
  EXPECT_TRUE(page.next_page_token().empty());
}

// Maximum-size records: a page of 1000 would pass gRPC's default 4 MiB
// receive limit (RESOURCE_EXHAUSTED at every default client); pages are
// short instead, and paging still lists every client once.
TEST_F(LocationsServiceTest, ListAndWithinStayUnderTheDefaultMessageLimit) {
  const std::string location = "+1." + std::string(500, '0') + "+2." + std::string(500, '0');
  const std::string time = "1." + std::string(1000, '0');
  std::set<std::string> ids;
  for (int i = 0; i < 1100; ++i) {
    const std::string id = absl::StrCat(std::string(250, 'k'), 100000 + i);
    ASSERT_EQ(store_.Apply(Text(id, location, time)), Store::Outcome::kAccepted);
    ids.insert(id);
  }
  std::set<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    v1::ListResponse page;
    const grpc::Status status = List(1000, token, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_LT(page.ByteSizeLong(), 2u << 20);
    for (const v1::Location& l : page.locations()) {
      EXPECT_TRUE(listed.insert(l.record().client_id()).second);
    }
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 100);
  EXPECT_EQ(listed, ids);
  EXPECT_GT(pages, 2);

  v1::WithinResponse within;
  const grpc::Status status = Within(1, 2, 10, 1000, &within);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_LT(within.ByteSizeLong(), 2u << 20);
  EXPECT_EQ(within.total(), 1100u);
  EXPECT_TRUE(within.truncated());
  EXPECT_GT(within.clients_size(), 0);
}

TEST_F(LocationsServiceTest, ListIsExactlyOnceWhileClientsMove) {
  for (int i = 0; i < 300; ++i) store_.Apply(Text(absl::StrCat("c", 100 + i), "+1+2", "1"));
  v1::ListResponse page;
  ASSERT_TRUE(List(100, "", &page).ok());
  std::multiset<std::string> seen;
  for (const auto& location : page.locations()) seen.insert(location.record().client_id());
  // Clients already listed and not yet listed move; one appears after the
  // listing's position.
  for (int i = 0; i < 300; i += 3) store_.Apply(Text(absl::StrCat("c", 100 + i), "+5+6", "2"));
  store_.Apply(Text("zzz", "+1+2", "1"));
  std::string token = page.next_page_token();
  while (!token.empty()) {
    page.Clear();
    ASSERT_TRUE(List(100, token, &page).ok());
    for (const auto& location : page.locations()) {
      seen.insert(location.record().client_id());
      if (location.record().client_id() == "c251") {
        EXPECT_EQ(location.record().client_time(), "1");  // i = 151 did not move
      }
      if (location.record().client_id() == "c397") {
        EXPECT_EQ(location.record().client_time(), "2");  // i = 297 moved before its page
      }
    }
    token = page.next_page_token();
  }
  EXPECT_EQ(seen.size(), 301u);
  for (const std::string& id : seen) EXPECT_EQ(seen.count(id), 1u) << id;
}

TEST_F(LocationsServiceTest, ListErrors) {
  v1::ListResponse page;
  ExpectInvalid(List(-1, "", &page), "page_size");
  ExpectInvalid(List(10, "not a token", &page), "page_token");
  ExpectInvalid(List(10, EncodePageToken("x").substr(1), &page), "page_token");
  EXPECT_TRUE(List(10, EncodePageToken("x"), &page).ok());  // tokens outlive clients
}

// --- Nearby ---------------------------------------------------------------

TEST_F(LocationsServiceTest, NearbyAnswersWithTypedPlacesAndTheJson) {
  store_.Apply(Text("kiwi", "+34.068930-118.445127", "1"));
  v1::NearbyResponse response;
  ASSERT_TRUE(Nearby("kiwi", 10, 2, &response).ok());
  EXPECT_EQ(response.status(), "OK");
  EXPECT_EQ(response.location().record().client_id(), "kiwi");
  ASSERT_EQ(response.places_size(), 2);
  EXPECT_EQ(response.places(0).name(), "Bel Air");
  EXPECT_EQ(response.places(1).name(), "Westwood");
  EXPECT_LT(response.places(0).distance_km(), response.places(1).distance_km());
  EXPECT_THAT(response.places(0).place_id(), StartsWith("geonames:"));
  EXPECT_EQ(response.places(0).vicinity(), "California, US");
  const nlohmann::json json = nlohmann::json::parse(response.json());
  EXPECT_EQ(json.at("status"), "OK");
  EXPECT_EQ(json.at("results").size(), 2u);
  EXPECT_EQ(json.at("results")[0].at("name"), "Bel Air");
}

TEST_F(LocationsServiceTest, NearbyWithNothingAround) {
  store_.Apply(Text("sailor", "+0.0-140.0", "1"));
  v1::NearbyResponse response;
  ASSERT_TRUE(Nearby("sailor", 50, 20, &response).ok());
  EXPECT_EQ(response.status(), "ZERO_RESULTS");
  EXPECT_EQ(response.places_size(), 0);
}

TEST_F(LocationsServiceTest, NearbyErrors) {
  store_.Apply(Text("kiwi", "+34.068930-118.445127", "1"));
  v1::NearbyResponse response;
  const grpc::Status unknown = Nearby("nobody", 10, 5, &response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), StartsWith("client_id: "));
  ExpectInvalid(Nearby("", 10, 5, &response), "client_id");
  ExpectInvalid(Nearby("kiwi", 0, 5, &response), "radius_km");
  ExpectInvalid(Nearby("kiwi", 50.001, 5, &response), "radius_km");
  ExpectInvalid(Nearby("kiwi", std::nan(""), 5, &response), "radius_km");
  ExpectInvalid(Nearby("kiwi", 10, 0, &response), "max_results");
  ExpectInvalid(Nearby("kiwi", 10, 21, &response), "max_results");
  EXPECT_TRUE(Nearby("kiwi", 50, 20, &response).ok());
}

TEST_F(LocationsServiceTest, NearbyProviderFailuresMapToStatusCodes) {
  store_.Apply(Text("kiwi", "+34.068930-118.445127", "1"));
  const std::vector<std::pair<const char*, grpc::StatusCode>> cases = {
      {"OVER_QUERY_LIMIT", grpc::StatusCode::RESOURCE_EXHAUSTED},
      {"REQUEST_DENIED", grpc::StatusCode::FAILED_PRECONDITION},
      {"UNKNOWN_ERROR", grpc::StatusCode::UNAVAILABLE},
      {"INVALID_REQUEST", grpc::StatusCode::INTERNAL}};
  for (const auto& [status, code] : cases) {
    places_.AnswerWith(PlacesFailure(status));
    v1::NearbyResponse response;
    const grpc::Status s = Nearby("kiwi", 10, 5, &response);
    EXPECT_EQ(s.error_code(), code) << status;
    EXPECT_THAT(s.error_message(), HasSubstr(status));
  }
}

TEST_F(LocationsServiceTest, NearbyWaitsForALaterAnswerWithoutHoldingAThread) {
  store_.Apply(Text("kiwi", "+34.068930-118.445127", "1"));
  places_.Hold();
  // Several calls wait on the provider at once; the server still answers
  // other calls meanwhile (no gRPC thread is blocked on them).
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      v1::NearbyResponse response;
      if (Nearby("kiwi", 10, 1, &response).ok() && response.places_size() == 1) ++ok;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return places_.held() == 8; }));
  v1::Location location;
  EXPECT_TRUE(Get("kiwi", &location).ok());
  places_.Release();  // answers on this thread, not a gRPC one
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(ok.load(), 8);
}

TEST_F(LocationsServiceTest, NearbyHonoursTheCallersDeadline) {
  store_.Apply(Text("kiwi", "+34.068930-118.445127", "1"));
  places_.Hold();
  v1::NearbyResponse response;
  const auto start = Clock::now();
  const grpc::Status status = Nearby("kiwi", 10, 5, &response, std::chrono::milliseconds(300));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  ASSERT_TRUE(WaitFor([&] { return places_.held() == 1; }));
  places_.Release();  // the late answer goes nowhere, harmlessly
  EXPECT_TRUE(Nearby("kiwi", 10, 5, &response).ok());
}

// --- Within ---------------------------------------------------------------

TEST_F(LocationsServiceTest, WithinFindsTheClientsInsideNearestFirst) {
  store_.Apply(Text("ucla", "+34.068930-118.445127", "1"));
  store_.Apply(Text("westwood", "+34.05612-118.43063", "1"));
  store_.Apply(Text("pasadena", "+34.14778-118.14452", "1"));
  v1::WithinResponse response;
  ASSERT_TRUE(Within(34.06, -118.44, 5, 0, &response).ok());
  ASSERT_EQ(response.clients_size(), 2);
  EXPECT_EQ(response.clients(0).location().record().client_id(), "westwood");
  EXPECT_EQ(response.clients(1).location().record().client_id(), "ucla");
  EXPECT_LE(response.clients(0).distance_km(), response.clients(1).distance_km());
  EXPECT_EQ(response.total(), 2u);
  EXPECT_FALSE(response.truncated());
  response.Clear();
  ASSERT_TRUE(Within(34.06, -118.44, 50, 1, &response).ok());
  EXPECT_EQ(response.clients_size(), 1);
  EXPECT_EQ(response.total(), 3u);
  EXPECT_TRUE(response.truncated());
  // A Report is visible to the next Within on the same server.
  ASSERT_TRUE(Report(ReportOf("pasadena", 34.0601, -118.4401, 2)).ok());
  response.Clear();
  ASSERT_TRUE(Within(34.06, -118.44, 0.1, 0, &response).ok());
  ASSERT_EQ(response.clients_size(), 1);
  EXPECT_EQ(response.clients(0).location().record().client_id(), "pasadena");
}

TEST_F(LocationsServiceTest, WithinErrors) {
  v1::WithinResponse response;
  v1::WithinRequest request;
  request.set_longitude(0);
  request.set_radius_km(1);
  ExpectInvalid(stub_->Within(Context().get(), request, &response), "latitude");
  request.set_latitude(0);
  request.clear_longitude();
  ExpectInvalid(stub_->Within(Context().get(), request, &response), "longitude");
  ExpectInvalid(Within(-90.5, 0, 1, 0, &response), "latitude");
  ExpectInvalid(Within(0, 181, 1, 0, &response), "longitude");
  ExpectInvalid(Within(0, 0, 0, 0, &response), "radius_km");
  ExpectInvalid(Within(0, 0, 51, 0, &response), "radius_km");
  ExpectInvalid(Within(0, 0, 1, -1, &response), "limit");
  ExpectInvalid(Within(0, 0, 1, 1001, &response), "limit");
  EXPECT_TRUE(Within(0, 0, 50, 1000, &response).ok());
}

TEST_F(LocationsServiceTest, WithinAgreesWithABruteForceScanAsClientsMove) {
  std::mt19937_64 random(3);
  std::normal_distribution<double> near(0, 0.3);
  const auto random_point = [&] {
    return std::make_pair(std::clamp(34.05 + near(random), -90.0, 90.0), -118.3 + near(random));
  };
  constexpr int kClients = 3000;
  for (int i = 0; i < kClients; ++i) {
    const auto [lat, lng] = random_point();
    store_.Apply(Text(absl::StrCat("c", i), FormatLocation(lat, lng), "1"));
  }
  const auto check = [&](int queries) {
    // Brute force over what the store holds (through Get, like any client).
    std::vector<std::pair<std::string, std::pair<double, double>>> clients;
    for (int i = 0; i < kClients; ++i) {
      const std::optional<Record> record = store_.Get(absl::StrCat("c", i));
      double lat, lng;
      ASSERT_TRUE(record && ParseLocation(record->location, &lat, &lng));
      clients.push_back({record->client_id, {lat, lng}});
    }
    size_t non_empty = 0;
    for (int q = 0; q < queries; ++q) {
      const auto [lat, lng] = random_point();
      const double radius = std::uniform_real_distribution<double>(0.5, 50)(random);
      std::set<std::string> expected;
      for (const auto& [id, point] : clients) {
        if (HaversineKm(lat, lng, point.first, point.second) <= radius) expected.insert(id);
      }
      v1::WithinResponse response;
      ASSERT_TRUE(Within(lat, lng, radius, 1000, &response).ok());
      std::set<std::string> got;
      double last = 0;
      for (const auto& client : response.clients()) {
        got.insert(client.location().record().client_id());
        EXPECT_GE(client.distance_km(), last);
        last = client.distance_km();
      }
      EXPECT_EQ(response.total(), expected.size());
      if (expected.size() <= 1000) {
        EXPECT_EQ(got, expected) << lat << "," << lng << " r " << radius;
        EXPECT_FALSE(response.truncated());
      } else {
        EXPECT_TRUE(response.truncated());
        EXPECT_EQ(got.size(), 1000u);
      }
      non_empty += !expected.empty();
    }
    EXPECT_GT(non_empty, static_cast<size_t>(queries / 2));
  };
  check(60);
  // A third of the clients move through Report (newer times), in and out of
  // circles; the next queries see it.
  for (int i = 0; i < kClients; i += 3) {
    const auto [lat, lng] = random_point();
    ASSERT_TRUE(Report(ReportOf(absl::StrCat("c", i), lat, lng, 2)).ok());
  }
  check(60);
}

// --- Watch ----------------------------------------------------------------

TEST_F(LocationsServiceTest, WatchWithoutStateStartsLive) {
  store_.Apply(Text("old", "+1+2", "1"));
  auto watch = Watch(v1::WatchRequest());
  v1::WatchResponse message;
  ASSERT_TRUE(watch->Next(&message));
  EXPECT_TRUE(message.initial_state_done());
  EXPECT_EQ(message.locations_size(), 0);
  ASSERT_TRUE(Report(ReportOf("kiwi", 34.06893, -118.445127, 5)).ok());
  store_.Apply(Text("peer", "+3+4", "1", "Jaquez"), {"Jaquez", 77});  // through a neighbour
  std::set<std::string> seen;
  while (seen.size() < 2 && watch->Next(&message)) {
    EXPECT_FALSE(message.initial_state_done());
    EXPECT_EQ(message.skipped(), 0u);
    for (const auto& location : message.locations()) seen.insert(location.record().client_id());
  }
  EXPECT_EQ(seen, (std::set<std::string>{"kiwi", "peer"}));
  watch->context.TryCancel();
}

TEST_F(LocationsServiceTest, WatchStartsWithTheCurrentStateWhenAsked) {
  for (int i = 0; i < 600; ++i) store_.Apply(Text(absl::StrCat("c", i), "+1+2", "1"));
  for (int i = 0; i < 600; i += 2) store_.Apply(Text(absl::StrCat("c", i), "+1+2", "2"));
  v1::WatchRequest request;
  request.set_include_current(true);
  auto watch = Watch(request);
  std::map<std::string, std::string> state;
  v1::WatchResponse message;
  size_t received = 0;
  do {
    ASSERT_TRUE(watch->Next(&message));
    EXPECT_EQ(message.skipped(), 0u);  // history is not something the stream missed
    for (const auto& location : message.locations()) {
      state[location.record().client_id()] = location.record().client_time();
      ++received;
    }
  } while (!message.initial_state_done());
  EXPECT_EQ(received, 600u);  // each client once, at its newest version
  ASSERT_EQ(state.size(), 600u);
  for (int i = 0; i < 600; ++i) EXPECT_EQ(state[absl::StrCat("c", i)], i % 2 ? "1" : "2");
  ASSERT_TRUE(Report(ReportOf("live", 0, 0, 1)).ok());
  ASSERT_TRUE(watch->Next(&message));
  ASSERT_EQ(message.locations_size(), 1);
  EXPECT_EQ(message.locations(0).record().client_id(), "live");
  watch->context.TryCancel();
}

TEST_F(LocationsServiceTest, WatchFiltersByClientId) {
  for (const char* id : {"a", "b", "c"}) store_.Apply(Text(id, "+1+2", "1"));
  v1::WatchRequest request;
  request.add_client_ids("a");
  request.add_client_ids("c");
  request.set_include_current(true);
  auto watch = Watch(request);
  std::vector<std::string> seen;
  v1::WatchResponse message;
  do {
    ASSERT_TRUE(watch->Next(&message));
    for (const auto& location : message.locations()) seen.push_back(location.record().client_id());
  } while (!message.initial_state_done());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "c"}));
  for (const char* id : {"b", "a", "b", "c"}) {
    ASSERT_TRUE(Report(ReportOf(id, 1, 1, 2)).ok());
  }
  seen.clear();
  while (seen.size() < 2 && watch->Next(&message)) {
    for (const auto& location : message.locations()) seen.push_back(location.record().client_id());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "c"}));
  watch->context.TryCancel();
}

TEST_F(LocationsServiceTest, WatchErrors) {
  v1::WatchRequest request;
  request.add_client_ids("ok");
  request.add_client_ids("not ok");
  auto watch = Watch(request);
  v1::WatchResponse message;
  EXPECT_FALSE(watch->Next(&message));
  ExpectInvalid(watch->reader->Finish(), "client_ids[1]");
  request.Clear();
  for (int i = 0; i < 1001; ++i) request.add_client_ids(absl::StrCat("c", i));
  watch = Watch(request);
  EXPECT_FALSE(watch->Next(&message));
  ExpectInvalid(watch->reader->Finish(), "client_ids");
}

TEST_F(LocationsServiceTest, TooManyWatchersAreRefused) {
  StopServer();
  LocationsService::Options options;
  options.max_watchers = 1;
  StartServer(options);
  auto first = Watch(v1::WatchRequest());
  v1::WatchResponse message;
  ASSERT_TRUE(first->Next(&message));
  auto second = Watch(v1::WatchRequest());
  EXPECT_FALSE(second->Next(&message));
  EXPECT_EQ(second->reader->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // A watcher that leaves makes room.
  first->context.TryCancel();
  ASSERT_TRUE(WaitFor([&] { return service_->watchers() == 0; }));
  auto third = Watch(v1::WatchRequest());
  EXPECT_TRUE(third->Next(&message));
  third->context.TryCancel();
}

TEST_F(LocationsServiceTest, WatchStreamsPerCallerAreCapped) {
  StopServer();
  LocationsService::Options options;
  options.max_watchers_per_caller = 2;
  StartServer(options);
  v1::WatchResponse message;
  auto first = Watch(v1::WatchRequest());
  auto second = Watch(v1::WatchRequest());
  ASSERT_TRUE(first->Next(&message));
  ASSERT_TRUE(second->Next(&message));
  auto third = Watch(v1::WatchRequest());
  EXPECT_FALSE(third->Next(&message));
  const grpc::Status refused = third->reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("127.0.0.1"));
  first->context.TryCancel();
  ASSERT_TRUE(WaitFor([&] { return service_->watchers() == 1; }));
  // The place is given back once the stream is done.
  std::unique_ptr<WatchCall> again;
  ASSERT_TRUE(WaitFor([&] {
    again = Watch(v1::WatchRequest());
    if (again->Next(&message)) return true;
    again->reader->Finish();
    return false;
  }));
  again->context.TryCancel();
  second->context.TryCancel();
}

TEST_F(LocationsServiceTest, WatchFilterBytesAreCapped) {
  v1::WatchRequest request;
  for (int i = 0; i < 400; ++i)
    request.add_client_ids(absl::StrCat(std::string(196, 'x'), 1000 + i));
  auto watch = Watch(request);  // 400 ids of 200 bytes: 80,000 > 65,536
  v1::WatchResponse message;
  EXPECT_FALSE(watch->Next(&message));
  const grpc::Status status = watch->reader->Finish();
  ExpectInvalid(status, "client_ids");
  EXPECT_THAT(status.error_message(), HasSubstr("bytes"));
  request.mutable_client_ids()->DeleteSubrange(300, 100);  // 60,000 bytes: fine
  watch = Watch(request);
  EXPECT_TRUE(watch->Next(&message));
  watch->context.TryCancel();
}

TEST_F(LocationsServiceTest, ShutdownEndsWatchStreamsAtOnce) {
  auto watch = Watch(v1::WatchRequest());
  v1::WatchResponse message;
  ASSERT_TRUE(watch->Next(&message));
  const auto start = Clock::now();
  service_->Shutdown();
  EXPECT_FALSE(watch->Next(&message));
  EXPECT_EQ(watch->reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));  // nothing held it up
  server_.reset();
  // A Watch after shutdown is refused the same way.
  StartServer(LocationsService::Options());
  service_->Shutdown();
  watch = Watch(v1::WatchRequest());
  EXPECT_FALSE(watch->Next(&message));
  EXPECT_EQ(watch->reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

// A watcher that stops reading holds one message and its cursor: the store
// and every other caller go on at full speed, and when it reads again it
// gets the newest record of every client and the count of the versions it
// never saw: delivered + skipped = every version accepted since it began.
TEST_F(LocationsServiceTest, AStalledWatcherSkipsCountsWhatItMissedAndDelaysNoOne) {
  // Small, fixed flow-control windows, so the stalled stream blocks soon.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
  auto stalled =
      Watch(v1::WatchRequest(),
            grpc::CreateCustomChannel(target_, grpc::InsecureChannelCredentials(), args));
  v1::WatchResponse message;
  ASSERT_TRUE(stalled->Next(&message));  // it is live; now it stops reading
  ASSERT_TRUE(message.initial_state_done());

  // A reader that keeps up, on a thread of its own.
  auto fast = Watch(v1::WatchRequest());
  ASSERT_TRUE(fast->Next(&message));
  absl::Mutex mu;
  std::map<std::string, std::string> fast_state;  // guarded by mu
  uint64_t fast_skipped = 0;                      // guarded by mu
  std::thread fast_reader([&] {
    v1::WatchResponse m;
    while (fast->Next(&m)) {
      absl::MutexLock lock(&mu);
      fast_skipped += m.skipped();
      for (const auto& l : m.locations())
        fast_state[l.record().client_id()] = l.record().client_time();
    }
  });

  // Three versions of 5000 clients (as the edge and peers would apply
  // them), then Reports, each answered at once.
  constexpr int kClients = 5000;
  constexpr int kVersions = 3;
  for (int v = 1; v <= kVersions; ++v) {
    for (int c = 0; c < kClients; ++c) {
      ASSERT_EQ(store_.Apply(Text(absl::StrCat("c", c), "+1.5+2.5", absl::StrCat(v))),
                Store::Outcome::kAccepted);
    }
  }
  constexpr int kReports = 100;
  Clock::duration slowest{};
  for (int i = 0; i < kReports; ++i) {
    const auto start = Clock::now();
    ASSERT_TRUE(Report(ReportOf(absl::StrCat("r", i), 1, 2, 1)).ok());
    slowest = std::max(slowest, Clock::now() - start);
  }
  EXPECT_LT(slowest, std::chrono::seconds(1));
  const uint64_t accepted = kClients * kVersions + kReports;

  // The fast reader has everything, while the stalled one still sleeps.
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return fast_state.size() == static_cast<size_t>(kClients + kReports) &&
           fast_state[absl::StrCat("c", kClients - 1)] == absl::StrCat(kVersions);
  }));

  uint64_t delivered = 0, skipped = 0;
  std::map<std::string, std::string> state;
  while (delivered + skipped < accepted) {
    ASSERT_TRUE(stalled->Next(&message)) << delivered << " + " << skipped;
    delivered += message.locations_size();
    skipped += message.skipped();
    for (const auto& l : message.locations())
      state[l.record().client_id()] = l.record().client_time();
  }
  EXPECT_EQ(delivered + skipped, accepted);
  EXPECT_GT(skipped, 0u) << "the stream never stalled";
  {
    // The metric: every skip either stream reported.
    absl::MutexLock lock(&mu);
    EXPECT_EQ(watch_skipped_.Value(), skipped + fast_skipped);
  }
  EXPECT_EQ(state.size(), static_cast<size_t>(kClients + kReports));
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(state[absl::StrCat("c", c)], absl::StrCat(kVersions)) << c;
  }
  stalled->context.TryCancel();
  fast->context.TryCancel();
  fast_reader.join();
}

}  // namespace
}  // namespace herd
