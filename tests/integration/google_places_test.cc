// `herd serve` with the Google Places providers, end to end: places.endpoint
// points at a loopback HTTP server that answers as Google does.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/herd_process.h"
#include "tests/places/fake_google_server.h"

namespace herd::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKeyVariable[] = "GOOGLE_PLACES_API_KEY";
constexpr char kKey[] = "AIzaIntegration-key_42";
constexpr char kIamat[] = "IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503\n";

// The key is in the environment the herd processes inherit, for one test.
class ScopedKey {
 public:
  explicit ScopedKey(const char* value) { setenv(kKeyVariable, value, 1); }
  ~ScopedKey() { unsetenv(kKeyVariable); }
};

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

json Places(const FakeGoogleServer& server, const std::string& provider, int timeout_ms = 3000) {
  return {
      {"places", {{"provider", provider}, {"endpoint", server.url()}, {"timeout_ms", timeout_ms}}},
      // One edge thread: a blocked thread would stall every client.
      {"edge", {{"threads", 1}}}};
}

// The JSON of a WHATSAT reply, checking its framing on the way.
json WhatsatJson(const std::string& reply, const std::string& at_line) {
  EXPECT_EQ(reply.rfind(at_line, 0), 0u) << reply;
  if (reply.size() < at_line.size() + 3) return json();
  EXPECT_EQ(reply.substr(reply.size() - 3), "}\n\n") << reply;
  const std::string body = reply.substr(at_line.size());
  EXPECT_EQ(body.find("\n\n"), body.size() - 2) << "no blank line inside the JSON";
  return json::parse(body, nullptr, /*allow_exceptions=*/false);
}

milliseconds Since(steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
}

long long MicrosSince(steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - start).count();
}

TEST(GooglePlacesTest, WhatsatAnswersFromPlacesApiNewConverted) {
  FakeGoogleServer google;
  google.Respond({.body = PlacesNewBody(8)});
  ScopedKey key(kKey);
  HerdProcesses herd({"Riley"}, {}, Places(google, "google"));
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  const std::string at = Exchange(port, kIamat);
  ASSERT_THAT(at, ::testing::StartsWith("AT Riley "));

  auto start = steady_clock::now();
  const std::string reply = Exchange(port, "WHATSAT kiwi.cs.ucla.edu 10 5\n");
  const long long first_us = MicrosSince(start);
  const json j = WhatsatJson(reply, at);
  EXPECT_EQ(j.at("status"), "OK");
  EXPECT_EQ(j.at("html_attributions"), json::array());
  ASSERT_EQ(j.at("results").size(), 5u);
  EXPECT_EQ(j.at("results")[0], json::parse(R"({
      "place_id": "ChIJ-place-0", "name": "Place 0",
      "geometry": {"location": {"lat": 34.07, "lng": -118.44}},
      "vicinity": "0 Long Street, Los Angeles",
      "types": ["restaurant", "food", "point_of_interest", "establishment"],
      "rating": 4.5, "user_ratings_total": 100, "business_status": "OPERATIONAL"})"));

  ASSERT_EQ(google.request_count(), 1u);
  const RecordedRequest request = google.requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/v1/places:searchNearby");
  EXPECT_EQ(request.Header("X-Goog-Api-Key"), kKey);
  EXPECT_THAT(request.Header("X-Goog-FieldMask"), HasSubstr("places.displayName"));
  const json body = json::parse(request.body);
  EXPECT_EQ(body.at("locationRestriction").at("circle").at("center"),
            json::parse(R"({"latitude": 34.06893, "longitude": -118.445127})"));
  EXPECT_EQ(body.at("locationRestriction").at("circle").at("radius"), 10000.0);
  // The cache asks for a full page and cuts it for each bound.
  EXPECT_EQ(body.at("maxResultCount"), 20);

  // Repeats inside the cache's TTL cost no request, whatever their bound.
  std::vector<long long> cached_us;
  for (int i = 0; i < 20; ++i) {
    start = steady_clock::now();
    const std::string again =
        Exchange(port, "WHATSAT kiwi.cs.ucla.edu 10 " + std::to_string(1 + i % 5) + "\n");
    cached_us.push_back(MicrosSince(start));
    EXPECT_EQ(WhatsatJson(again, at).at("results").size(), static_cast<size_t>(1 + i % 5));
  }
  EXPECT_EQ(google.request_count(), 1u);
  std::sort(cached_us.begin(), cached_us.end());
  // Each includes connecting, sending, the reply and the close.
  std::printf("WHATSAT via google: first %lld us; cached median %lld us, max %lld us\n", first_us,
              cached_us[cached_us.size() / 2], cached_us.back());
  EXPECT_LT(cached_us[cached_us.size() / 2], 200'000);

  // The log names the provider and the variable, never the key.
  const std::string log_path = herd.dir() + "/logs/Riley.log";
  EXPECT_TRUE(WaitFor([&] {
    return ReadFile(log_path).find("places: google answered OK") != std::string::npos;
  })) << ReadFile(log_path);
  EXPECT_THAT(ReadFile(log_path), HasSubstr(kKeyVariable));
  EXPECT_THAT(ReadFile(log_path), Not(HasSubstr(kKey)));
}

TEST(GooglePlacesTest, WhatsatAnswersFromLegacyNearbySearchCutToTheBound) {
  FakeGoogleServer google;
  google.Respond({.body = LegacyBody(20)});
  ScopedKey key(kKey);
  HerdProcesses herd({"Riley"}, {}, Places(google, "google-legacy"));
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  const std::string at = Exchange(port, kIamat);
  const json j = WhatsatJson(Exchange(port, "WHATSAT kiwi.cs.ucla.edu 2.5 3\n"), at);
  EXPECT_EQ(j, json::parse(LegacyBody(3)));
  ASSERT_EQ(google.request_count(), 1u);
  const RecordedRequest request = google.requests()[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/maps/api/place/nearbysearch/json");
  EXPECT_EQ(request.QueryParams(),
            (std::map<std::string, std::string>{{"location", "34.06893,-118.445127"},
                                                {"radius", "2500"},
                                                {"key", kKey}}));
  const std::string log_path = herd.dir() + "/logs/Riley.log";
  EXPECT_TRUE(WaitFor([&] {
    return ReadFile(log_path).find("google-legacy answered OK") != std::string::npos;
  })) << ReadFile(log_path);
  EXPECT_THAT(ReadFile(log_path), Not(HasSubstr(kKey)));
}

TEST(GooglePlacesTest, AutoWithAKeyUsesGoogle) {
  FakeGoogleServer google;
  google.Respond({.body = PlacesNewBody(0)});
  ScopedKey key(kKey);
  HerdProcesses herd({"Riley"}, {}, Places(google, "auto"));
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  const std::string at = Exchange(port, kIamat);
  const json j = WhatsatJson(Exchange(port, "WHATSAT kiwi.cs.ucla.edu 10 5\n"), at);
  EXPECT_EQ(j.at("status"), "ZERO_RESULTS");
  EXPECT_EQ(google.request_count(), 1u);
}

TEST(GooglePlacesTest, AHungUpstreamStallsNeitherOtherClientsNorTheDeadline) {
  FakeGoogleServer google;
  google.Respond({.mode = ScriptedResponse::Mode::kHang});
  ScopedKey key(kKey);
  constexpr int kTimeoutMs = 3000;
  HerdProcesses herd({"Riley"}, {}, Places(google, "google", kTimeoutMs));
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  const std::string at = Exchange(port, kIamat);

  // Three WHATSATs (different radii: no single-flight) wait on the upstream.
  const auto start = steady_clock::now();
  std::vector<std::future<std::string>> whatsats;
  for (int radius : {10, 20, 30}) {
    whatsats.push_back(std::async(std::launch::async, [port, radius] {
      return Exchange(port, "WHATSAT kiwi.cs.ucla.edu " + std::to_string(radius) + " 5\n");
    }));
  }
  ASSERT_TRUE(google.WaitForRequests(3));

  // Meanwhile IAMATs on other connections are answered promptly.
  milliseconds slowest{0};
  int iamats = 0;
  // Paced by waiting (up to 50 ms) for the first WHATSAT to come back.
  while (whatsats[0].wait_for(milliseconds(50)) != std::future_status::ready &&
         Since(start) < milliseconds(kTimeoutMs - 300)) {
    const auto sent = steady_clock::now();
    const std::string reply =
        Exchange(port, "IAMAT other" + std::to_string(iamats) + " +34.1-118.4 1621464827." +
                           std::to_string(100 + iamats) + "\n");
    slowest = std::max(slowest, Since(sent));
    ASSERT_THAT(reply, ::testing::StartsWith("AT Riley ")) << reply;
    ++iamats;
  }
  std::printf("while Google hung: %d IAMATs answered, slowest %lld ms\n", iamats,
              static_cast<long long>(slowest.count()));
  EXPECT_GE(iamats, 5);
  EXPECT_LT(slowest, milliseconds(1000));

  // And each WHATSAT still answers, at the deadline, with UNKNOWN_ERROR.
  for (auto& whatsat : whatsats) {
    const json j = WhatsatJson(whatsat.get(), at);
    EXPECT_EQ(j.at("status"), "UNKNOWN_ERROR");
    EXPECT_EQ(j.at("results"), json::array());
  }
  const milliseconds elapsed = Since(start);
  std::printf("WHATSATs with Google hung answered after %lld ms (deadline %d ms)\n",
              static_cast<long long>(elapsed.count()), kTimeoutMs);
  EXPECT_GE(elapsed, milliseconds(kTimeoutMs - 100));
  EXPECT_LT(elapsed, milliseconds(kTimeoutMs + 1000));
  const std::string log_path = herd.dir() + "/logs/Riley.log";
  EXPECT_TRUE(WaitFor([&] {
    return ReadFile(log_path).find("-> UNKNOWN_ERROR") != std::string::npos;
  })) << ReadFile(log_path);
}

TEST(GooglePlacesTest, HttpFailuresBecomeStatusesAndAreLoggedWithoutTheKey) {
  FakeGoogleServer google;
  google.Respond({.status = 429, .body = R"({"error": {"code": 429, "message": "Quota exceeded",
                               "status": "RESOURCE_EXHAUSTED"}})"});
  ScopedKey key(kKey);
  HerdProcesses herd({"Riley"}, {}, Places(google, "google"));
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  const std::string at = Exchange(port, kIamat);
  json j = WhatsatJson(Exchange(port, "WHATSAT kiwi.cs.ucla.edu 10 5\n"), at);
  EXPECT_EQ(j, json::parse(R"({"html_attributions": [], "results": [],
                               "status": "OVER_QUERY_LIMIT"})"));
  // Failures are not cached: the next WHATSAT asks again.
  google.Respond({.status = 403, .body = "{}"});
  j = WhatsatJson(Exchange(port, "WHATSAT kiwi.cs.ucla.edu 10 5\n"), at);
  EXPECT_EQ(j.at("status"), "REQUEST_DENIED");
  EXPECT_EQ(google.request_count(), 2u);
  const std::string log_path = herd.dir() + "/logs/Riley.log";
  EXPECT_TRUE(WaitFor([&] {
    const std::string log = ReadFile(log_path);
    return log.find("HTTP 429") != std::string::npos &&
           log.find("Quota exceeded") != std::string::npos &&
           log.find("HTTP 403") != std::string::npos;
  })) << ReadFile(log_path);
  EXPECT_THAT(ReadFile(log_path), Not(HasSubstr(kKey)));
}

TEST(GooglePlacesTest, GoogleWithoutAKeyExitsTwoNamingTheVariable) {
  FakeGoogleServer google;
  unsetenv(kKeyVariable);
  for (const char* provider : {"google", "google-legacy"}) {
    HerdProcesses herd({"Riley"}, {}, Places(google, provider));
    RunResult result = RunHerd({"serve", "Riley", "--config", herd.config_path()});
    EXPECT_EQ(result.exit_status, 2) << result.stderr_text;
    EXPECT_THAT(result.stderr_text, HasSubstr(kKeyVariable));
    EXPECT_EQ(std::count(result.stderr_text.begin(), result.stderr_text.end(), '\n'), 1)
        << result.stderr_text;
  }
  // The variable's name is configurable, and an empty value is no key.
  setenv("MY_PLACES_KEY", "", 1);
  json places = Places(google, "google");
  places["places"]["api_key_env"] = "MY_PLACES_KEY";
  HerdProcesses herd({"Riley"}, {}, places);
  RunResult result = RunHerd({"serve", "Riley", "--config", herd.config_path()});
  unsetenv("MY_PLACES_KEY");
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_THAT(result.stderr_text, HasSubstr("MY_PLACES_KEY"));
  EXPECT_EQ(google.request_count(), 0u);
}

}  // namespace
}  // namespace herd::testing
