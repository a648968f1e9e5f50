// GooglePlacesProvider (Places API (New) and legacy Nearby Search) against a
// real HTTP server on loopback that answers as Google documents.

#include "places/google_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/server_log.h"
#include "tests/places/awaited.h"
#include "tests/places/fake_google_server.h"

namespace herd {
namespace {

using ::herd::testing::Awaited;
using ::herd::testing::FakeGoogleServer;
using ::herd::testing::LegacyBody;
using ::herd::testing::PlacesNewBody;
using ::herd::testing::RecordedRequest;
using ::herd::testing::ScriptedResponse;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "AIzaTest-key_0123456789";

PlacesQuery Ucla(double radius_km = 10, int max_results = 5) {
  return {34.068930, -118.445127, radius_km, max_results};
}

class GoogleProviderTest : public ::testing::Test {
 protected:
  std::unique_ptr<GooglePlacesProvider> Make(GoogleApi api, const std::string& endpoint,
                                             GoogleOptions options = {}) {
    options.api = api;
    options.endpoint = endpoint;
    if (options.api_key.empty()) options.api_key = kKey;
    absl::StatusOr<std::unique_ptr<GooglePlacesProvider>> provider =
        GooglePlacesProvider::Create(std::move(options), log_.get());
    EXPECT_TRUE(provider.ok()) << provider.status();
    return provider.ok() ? *std::move(provider) : nullptr;
  }

  static json Ask(PlacesProvider& provider, const PlacesQuery& query) {
    Awaited<json> answer;
    provider.Nearby(query, answer.Setter());
    std::optional<json> j = answer.Wait();
    EXPECT_TRUE(j.has_value());
    return j.value_or(json());
  }

  std::unique_ptr<ServerLog> log_ = ServerLog::Discard();
  FakeGoogleServer server_;
};

void ExpectFailure(const json& j, const std::string& status) {
  EXPECT_EQ(j.at("status"), status) << j;
  EXPECT_EQ(j.at("results"), json::array()) << j;
  EXPECT_EQ(j.at("html_attributions"), json::array()) << j;
}

TEST_F(GoogleProviderTest, NewApiRequestIsWhatGoogleDocuments) {
  server_.Respond({.body = PlacesNewBody(2)});
  auto provider = Make(GoogleApi::kPlacesNew, server_.url());
  Ask(*provider, Ucla(10, 5));
  const std::vector<RecordedRequest> requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v1/places:searchNearby");
  EXPECT_EQ(r.query, "");
  EXPECT_EQ(r.Header("X-Goog-Api-Key"), kKey);
  EXPECT_EQ(r.Header("X-Goog-FieldMask"),
            "places.id,places.displayName,places.location,places.shortFormattedAddress,"
            "places.formattedAddress,places.types,places.rating,places.userRatingCount,"
            "places.businessStatus");
  EXPECT_THAT(r.Header("Content-Type"), HasSubstr("application/json"));
  const json body = json::parse(r.body);
  EXPECT_EQ(body, json::parse(R"({
    "locationRestriction": {"circle": {
      "center": {"latitude": 34.06893, "longitude": -118.445127},
      "radius": 10000.0}},
    "maxResultCount": 5})"));
  EXPECT_THAT(r.target, Not(HasSubstr(kKey)));
}

TEST_F(GoogleProviderTest, NewApiResponseIsConvertedToTheNearbySearchShape) {
  server_.Respond({.body = R"({"places": [{
      "id": "ChIJN1t_tDeuEmsRUsoyG83frY4",
      "displayName": {"text": "Google Workshop", "languageCode": "en"},
      "location": {"latitude": -33.866489, "longitude": 151.1958561},
      "formattedAddress": "48 Pirrama Rd, Pyrmont NSW 2009, Australia",
      "shortFormattedAddress": "48 Pirrama Rd, Pyrmont",
      "types": ["point_of_interest", "establishment"],
      "rating": 4.2,
      "userRatingCount": 937,
      "businessStatus": "OPERATIONAL"
    }, {
      "id": "bare",
      "formattedAddress": "Somewhere 1, Sydney"
    }]})"});
  auto provider = Make(GoogleApi::kPlacesNew, server_.url());
  const json j = Ask(*provider, Ucla());
  EXPECT_EQ(j, json::parse(R"({
    "html_attributions": [],
    "results": [{
      "place_id": "ChIJN1t_tDeuEmsRUsoyG83frY4",
      "name": "Google Workshop",
      "geometry": {"location": {"lat": -33.866489, "lng": 151.1958561}},
      "vicinity": "48 Pirrama Rd, Pyrmont",
      "types": ["point_of_interest", "establishment"],
      "rating": 4.2,
      "user_ratings_total": 937,
      "business_status": "OPERATIONAL"
    }, {
      "place_id": "bare",
      "vicinity": "Somewhere 1, Sydney"
    }],
    "status": "OK"})"))
      << j.dump(2);
}

TEST_F(GoogleProviderTest, NewApiResultsAreCutToTheBound) {
  server_.Respond({.body = PlacesNewBody(8)});  // more than asked for
  auto provider = Make(GoogleApi::kPlacesNew, server_.url());
  const json j = Ask(*provider, Ucla(10, 3));
  ASSERT_EQ(j.at("results").size(), 3u);
  EXPECT_EQ(j.at("results")[2].at("name"), "Place 2");
  EXPECT_EQ(j.at("status"), "OK");
}

TEST_F(GoogleProviderTest, NewApiEmptyAnswerIsZeroResults) {
  server_.Respond({.body = "{}"});
  auto provider = Make(GoogleApi::kPlacesNew, server_.url());
  const json j = Ask(*provider, Ucla());
  EXPECT_EQ(j, json::parse(R"({"html_attributions": [], "results": [],
                               "status": "ZERO_RESULTS"})"));
}

TEST_F(GoogleProviderTest, LegacyRequestIsWhatGoogleDocuments) {
  server_.Respond({.body = LegacyBody(1)});
  GoogleOptions options;
  options.api_key = "key with/odd+chars&=";
  auto provider = Make(GoogleApi::kLegacyNearby, server_.url(), options);
  Ask(*provider, Ucla(1.5, 5));
  const std::vector<RecordedRequest> requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& r = requests[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/maps/api/place/nearbysearch/json");
  EXPECT_EQ(r.QueryParams(),
            (std::map<std::string, std::string>{{"location", "34.06893,-118.445127"},
                                                {"radius", "1500"},
                                                {"key", "key with/odd+chars&="}}));
  EXPECT_EQ(r.Header("X-Goog-Api-Key"), "");
  EXPECT_EQ(r.body, "");
}

TEST_F(GoogleProviderTest, LegacyAnswerPassesThroughCutToTheBound) {
  server_.Respond({.body = LegacyBody(20)});
  auto provider = Make(GoogleApi::kLegacyNearby, server_.url());
  const json j = Ask(*provider, Ucla(10, 4));
  json expected = json::parse(LegacyBody(4));
  EXPECT_EQ(j, expected);
}

TEST_F(GoogleProviderTest, LegacyStatusIsKept) {
  server_.Respond({.body = LegacyBody(0, "ZERO_RESULTS")});
  auto provider = Make(GoogleApi::kLegacyNearby, server_.url());
  EXPECT_EQ(Ask(*provider, Ucla()).at("status"), "ZERO_RESULTS");

  server_.Respond({.body = R"({"html_attributions": [], "results": [],
      "status": "REQUEST_DENIED", "error_message": "The provided API key is invalid."})"});
  const json denied = Ask(*provider, Ucla());
  EXPECT_EQ(denied.at("status"), "REQUEST_DENIED");
  EXPECT_EQ(denied.at("results"), json::array());
}

struct FailureCase {
  std::string name;
  ScriptedResponse response;
  std::string status;
};

class FailureTest : public GoogleProviderTest,
                    public ::testing::WithParamInterface<std::tuple<GoogleApi, FailureCase>> {};

TEST_P(FailureTest, MapsToANearbySearchStatusWithEmptyResults) {
  const auto& [api, failure] = GetParam();
  server_.Respond(failure.response);
  auto provider = Make(api, server_.url());
  ExpectFailure(Ask(*provider, Ucla()), failure.status);
}

std::vector<FailureCase> FailureCases() {
  const std::string google_error = R"({"error": {"code": 0, "message": "m", "status": "S"}})";
  // 100,000 levels (~200 KB): recursing once per level overflows a stack.
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  const std::string deep_results = R"({"status": "OK", "html_attributions": [], "results": [)" +
                                   deep + R"(, {"deep": )" + deep + "}]}";
  return {
      {"DeeplyNested", {.body = deep}, "UNKNOWN_ERROR"},
      {"DeeplyNestedResults", {.body = deep_results}, "UNKNOWN_ERROR"},
      {"DeeplyNestedError", {.status = 500, .body = deep_results}, "UNKNOWN_ERROR"},
      {"Http400", {.status = 400, .body = google_error}, "INVALID_REQUEST"},
      {"Http401", {.status = 401, .body = google_error}, "REQUEST_DENIED"},
      {"Http403", {.status = 403, .body = google_error}, "REQUEST_DENIED"},
      {"Http429", {.status = 429, .body = google_error}, "OVER_QUERY_LIMIT"},
      {"Http500", {.status = 500, .body = google_error}, "UNKNOWN_ERROR"},
      {"Http503", {.status = 503, .body = "Service Unavailable"}, "UNKNOWN_ERROR"},
      {"Http404", {.status = 404, .body = "Not Found"}, "UNKNOWN_ERROR"},
      {"BadJson", {.body = "{\"places\": [ {\"id\": "}, "UNKNOWN_ERROR"},
      {"NotAnObject", {.body = "[1, 2]"}, "UNKNOWN_ERROR"},
      {"WrongShape", {.body = R"({"places": 3, "results": 3})"}, "UNKNOWN_ERROR"},
      {"ClosedWithoutAnswer", {.mode = ScriptedResponse::Mode::kClose}, "UNKNOWN_ERROR"},
  };
}

INSTANTIATE_TEST_SUITE_P(
    BothApis, FailureTest,
    ::testing::Combine(::testing::Values(GoogleApi::kPlacesNew, GoogleApi::kLegacyNearby),
                       ::testing::ValuesIn(FailureCases())),
    [](const auto& info) {
      return std::string(std::get<0>(info.param) == GoogleApi::kPlacesNew ? "New" : "Legacy") +
             std::get<1>(info.param).name;
    });

TEST_F(GoogleProviderTest, RefusedIsUnknownError) {
  for (GoogleApi api : {GoogleApi::kPlacesNew, GoogleApi::kLegacyNearby}) {
    auto provider = Make(api, "http://127.0.0.1:" + std::to_string(testing::RefusedPort()));
    ExpectFailure(Ask(*provider, Ucla()), "UNKNOWN_ERROR");
  }
}

TEST_F(GoogleProviderTest, AnUpstreamThatNeverAnswersIsUnknownErrorWithinTheDeadline) {
  server_.Respond({.mode = ScriptedResponse::Mode::kHang});
  for (GoogleApi api : {GoogleApi::kPlacesNew, GoogleApi::kLegacyNearby}) {
    GoogleOptions options;
    options.timeout = milliseconds(400);
    auto provider = Make(api, server_.url(), options);
    const auto start = steady_clock::now();
    const json j = Ask(*provider, Ucla());
    const auto elapsed = steady_clock::now() - start;
    ExpectFailure(j, "UNKNOWN_ERROR");
    EXPECT_GE(elapsed, milliseconds(390));
    EXPECT_LT(elapsed, milliseconds(1000));
  }
}

TEST_F(GoogleProviderTest, AQueryOutOfRangeIsInvalidRequestWithoutARequest) {
  auto provider = Make(GoogleApi::kPlacesNew, server_.url());
  for (const PlacesQuery& query :
       {PlacesQuery{91, 0, 1, 1}, PlacesQuery{0, 181, 1, 1}, PlacesQuery{0, 0, 0, 1},
        PlacesQuery{0, 0, 51, 1}, PlacesQuery{0, 0, 1, 0}, PlacesQuery{0, 0, 1, 21}}) {
    ExpectFailure(Ask(*provider, query), "INVALID_REQUEST");
  }
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(GoogleProviderTest, TooManyInFlightIsUnknownErrorAtOnce) {
  server_.Respond({.mode = ScriptedResponse::Mode::kHold});
  GoogleOptions options;
  options.fetcher.max_in_flight = 1;
  options.fetcher.max_queued = 0;
  auto provider = Make(GoogleApi::kPlacesNew, server_.url(), options);
  Awaited<json> first, second;
  provider->Nearby(Ucla(), first.Setter());
  provider->Nearby(Ucla(), second.Setter());
  ASSERT_TRUE(second.ready());  // refused before Nearby() returned
  ExpectFailure(*second.Wait(), "UNKNOWN_ERROR");
  server_.Respond({.body = PlacesNewBody(1)});
  server_.Release();
  ASSERT_TRUE(first.Wait());
  EXPECT_EQ(first.Wait()->at("status"), "OK");
}

TEST_F(GoogleProviderTest, ConnectionsAreReused) {
  server_.Respond({.body = PlacesNewBody(1)});
  auto provider = Make(GoogleApi::kPlacesNew, server_.url());
  for (int i = 0; i < 3; ++i) Ask(*provider, Ucla(10 + i));
  EXPECT_EQ(server_.request_count(), 3u);
  EXPECT_EQ(server_.connection_count(), 1u);
}

TEST_F(GoogleProviderTest, TheKeyGoesNowhereElseOnARedirect) {
  FakeGoogleServer elsewhere;
  server_.Respond({.status = 302, .headers = {{"Location", elsewhere.url() + "/"}}});
  for (GoogleApi api : {GoogleApi::kPlacesNew, GoogleApi::kLegacyNearby}) {
    auto provider = Make(api, server_.url());
    ExpectFailure(Ask(*provider, Ucla()), "UNKNOWN_ERROR");
  }
  EXPECT_EQ(elsewhere.request_count(), 0u);
}

TEST_F(GoogleProviderTest, EndpointMustBeHttpAndMayEndInASlash) {
  for (const char* bad : {"ftp://example.com", "example.com", "http://"}) {
    GoogleOptions options;
    options.api_key = kKey;
    options.endpoint = bad;
    EXPECT_FALSE(GooglePlacesProvider::Create(options, log_.get()).ok()) << bad;
  }
  server_.Respond({.body = PlacesNewBody(1)});
  auto provider = Make(GoogleApi::kPlacesNew, server_.url() + "/");
  Ask(*provider, Ucla());
  ASSERT_EQ(server_.request_count(), 1u);
  EXPECT_EQ(server_.requests()[0].path, "/v1/places:searchNearby");
}

TEST_F(GoogleProviderTest, GoogleEndpointsAreTheDefault) {
  GoogleOptions options;
  options.api_key = kKey;
  auto provider = GooglePlacesProvider::Create(options, log_.get());
  ASSERT_TRUE(provider.ok());
  EXPECT_EQ((*provider)->BuildRequest(Ucla()).url,
            "https://places.googleapis.com/v1/places:searchNearby");
  options.api = GoogleApi::kLegacyNearby;
  provider = GooglePlacesProvider::Create(options, log_.get());
  ASSERT_TRUE(provider.ok());
  EXPECT_THAT(
      (*provider)->BuildRequest(Ucla()).url,
      ::testing::StartsWith("https://maps.googleapis.com/maps/api/place/nearbysearch/json?"));
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST_F(GoogleProviderTest, FailuresAreLoggedWithTheirReasonButNeverTheKey) {
  char dir[] = "/tmp/herd-places-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/places.log";
  {
    absl::StatusOr<std::unique_ptr<ServerLog>> log = ServerLog::Open(path, {});
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }
  // A server that echoes the key back in its error message, as some do.
  server_.Respond({.status = 403,
                   .body = std::string(R"({"error": {"code": 403, "message": "API key )") + kKey +
                           R"( not valid", "status": "PERMISSION_DENIED"}})"});
  for (GoogleApi api : {GoogleApi::kPlacesNew, GoogleApi::kLegacyNearby}) {
    auto provider = Make(api, server_.url());
    ExpectFailure(Ask(*provider, Ucla()), "REQUEST_DENIED");
  }
  auto refused =
      Make(GoogleApi::kLegacyNearby, "http://127.0.0.1:" + std::to_string(testing::RefusedPort()));
  ExpectFailure(Ask(*refused, Ucla()), "UNKNOWN_ERROR");
  server_.Respond({.body = "not json"});
  auto bad = Make(GoogleApi::kPlacesNew, server_.url());
  ExpectFailure(Ask(*bad, Ucla()), "UNKNOWN_ERROR");
  log_->Flush();
  const std::string text = ReadFile(path);
  EXPECT_THAT(text, HasSubstr("google answered HTTP 403"));
  EXPECT_THAT(text, HasSubstr("google-legacy answered HTTP 403"));
  EXPECT_THAT(text, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(text, HasSubstr("-> REQUEST_DENIED"));
  EXPECT_THAT(text, HasSubstr("onnect"));  // "Couldn't connect" / "Connection refused"
  EXPECT_THAT(text, HasSubstr("not JSON"));
  EXPECT_THAT(text, Not(HasSubstr(kKey)));
  log_ = ServerLog::Discard();
  std::system((std::string("rm -rf ") + dir).c_str());
}

TEST(GoogleConversionTest, NestingIsCappedButOrdinaryDepthsPass) {
  auto nested = [](int depth) {
    return R"({"status": "OK", "results": [{"x": )" + std::string(depth, '[') +
           std::string(depth, ']') + "}]}";
  };
  EXPECT_TRUE(CutLegacyResponse(nested(50), 5).ok());
  absl::StatusOr<json> deep = CutLegacyResponse(nested(1000), 5);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(std::string(deep.status().message()).find("deeper than"), std::string::npos)
      << deep.status();
  EXPECT_FALSE(ConvertPlacesNewResponse(R"({"places": [)" + std::string(100'000, '[') +
                                            std::string(100'000, ']') + "]}",
                                        5)
                   .ok());
}

TEST(GoogleConversionTest, RejectsWhatIsNotTheDocumentedShape) {
  EXPECT_FALSE(ConvertPlacesNewResponse("", 5).ok());
  EXPECT_FALSE(ConvertPlacesNewResponse("null", 5).ok());
  EXPECT_FALSE(ConvertPlacesNewResponse(R"({"places": {}})", 5).ok());
  EXPECT_TRUE(ConvertPlacesNewResponse(R"({"places": []})", 5).ok());
  EXPECT_FALSE(CutLegacyResponse(R"({"results": []})", 5).ok());  // no status
  EXPECT_FALSE(CutLegacyResponse(R"({"status": "OK", "results": {}})", 5).ok());
  absl::StatusOr<json> minimal = CutLegacyResponse(R"({"status": "ZERO_RESULTS"})", 5);
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(*minimal, json::parse(R"({"html_attributions": [], "results": [],
                                      "status": "ZERO_RESULTS"})"));
}

TEST(GoogleConversionTest, FieldsOfTheWrongTypeAreLeftOut) {
  absl::StatusOr<json> j = ConvertPlacesNewResponse(R"({"places": [{
      "id": 7, "displayName": "flat", "location": {"latitude": "x", "longitude": 1},
      "types": ["a", 2, "b"], "rating": "high", "userRatingCount": 1.5,
      "businessStatus": null}, 5]})",
                                                    5);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*j, json::parse(R"({"html_attributions": [], "results": [{"types": ["a", "b"]}],
                                "status": "OK"})"));
}

}  // namespace
}  // namespace herd
