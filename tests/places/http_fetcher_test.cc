// HttpFetcher against a real HTTP server on loopback.

#include "places/http_fetcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "tests/places/awaited.h"
#include "tests/places/fake_google_server.h"

namespace herd {
namespace {

using ::herd::testing::Awaited;
using ::herd::testing::FakeGoogleServer;
using ::herd::testing::RecordedRequest;
using ::herd::testing::ScriptedResponse;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::unique_ptr<HttpFetcher> MakeFetcher(HttpFetcher::Options options = {}) {
  absl::StatusOr<std::unique_ptr<HttpFetcher>> fetcher = HttpFetcher::Create(options);
  EXPECT_TRUE(fetcher.ok()) << fetcher.status();
  return fetcher.ok() ? *std::move(fetcher) : nullptr;
}

HttpRequest Get(const std::string& url, milliseconds timeout = milliseconds(5000)) {
  HttpRequest request;
  request.url = url;
  request.deadline = steady_clock::now() + timeout;
  return request;
}

TEST(HttpFetcherTest, SendsGetAndPostAsGiven) {
  FakeGoogleServer server;
  server.Respond({.status = 200, .body = R"({"ok":true})"});
  auto fetcher = MakeFetcher();

  HttpRequest get = Get(server.url() + "/a/b?x=1&y=two");
  get.headers = {"X-Test: yes"};
  Awaited<HttpResponse> got;
  fetcher->Fetch(get, got.Setter());
  std::optional<HttpResponse> response = got.Wait();
  ASSERT_TRUE(response);
  ASSERT_TRUE(response->transport.ok()) << response->transport;
  EXPECT_EQ(response->status_code, 200);
  EXPECT_EQ(response->body, R"({"ok":true})");

  HttpRequest post = Get(server.url() + "/v1/thing");
  post.method = "POST";
  post.headers = {"Content-Type: application/json"};
  post.body = R"({"q":1})";
  Awaited<HttpResponse> posted;
  fetcher->Fetch(post, posted.Setter());
  ASSERT_TRUE(posted.Wait());

  const std::vector<RecordedRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, "/a/b");
  EXPECT_EQ(requests[0].query, "x=1&y=two");
  EXPECT_EQ(requests[0].Header("x-test"), "yes");
  EXPECT_EQ(requests[0].body, "");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].path, "/v1/thing");
  EXPECT_EQ(requests[1].Header("Content-Type"), "application/json");
  EXPECT_EQ(requests[1].body, R"({"q":1})");
  EXPECT_EQ(requests[1].Header("Expect"), "");
}

TEST(HttpFetcherTest, ReusesTheConnection) {
  FakeGoogleServer server;
  auto fetcher = MakeFetcher();
  for (int i = 0; i < 3; ++i) {
    Awaited<HttpResponse> done;
    fetcher->Fetch(Get(server.url() + "/"), done.Setter());
    ASSERT_TRUE(done.Wait());
  }
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(server.connection_count(), 1u);
}

TEST(HttpFetcherTest, HttpErrorsAreResponsesNotTransportErrors) {
  FakeGoogleServer server;
  server.Respond({.status = 503, .body = "busy"});
  auto fetcher = MakeFetcher();
  Awaited<HttpResponse> done;
  fetcher->Fetch(Get(server.url() + "/"), done.Setter());
  std::optional<HttpResponse> response = done.Wait();
  ASSERT_TRUE(response);
  EXPECT_TRUE(response->transport.ok());
  EXPECT_EQ(response->status_code, 503);
  EXPECT_EQ(response->body, "busy");
}

TEST(HttpFetcherTest, AnUpstreamThatNeverAnswersEndsAtTheDeadline) {
  FakeGoogleServer server;
  server.Respond({.mode = ScriptedResponse::Mode::kHang});
  auto fetcher = MakeFetcher();
  Awaited<HttpResponse> done;
  const auto start = steady_clock::now();
  fetcher->Fetch(Get(server.url() + "/", milliseconds(300)), done.Setter());
  std::optional<HttpResponse> response = done.Wait();
  const auto elapsed = steady_clock::now() - start;
  ASSERT_TRUE(response);
  EXPECT_EQ(response->transport.code(), absl::StatusCode::kDeadlineExceeded) << response->transport;
  EXPECT_GE(elapsed, milliseconds(290));
  EXPECT_LT(elapsed, milliseconds(1000));
}

TEST(HttpFetcherTest, RefusedAndClosedAreUnavailable) {
  auto fetcher = MakeFetcher();
  Awaited<HttpResponse> refused;
  fetcher->Fetch(Get("http://127.0.0.1:" + std::to_string(testing::RefusedPort()) + "/"),
                 refused.Setter());
  std::optional<HttpResponse> response = refused.Wait();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->transport.code(), absl::StatusCode::kUnavailable) << response->transport;

  FakeGoogleServer server;
  server.Respond({.mode = ScriptedResponse::Mode::kClose});
  Awaited<HttpResponse> closed;
  fetcher->Fetch(Get(server.url() + "/"), closed.Setter());
  response = closed.Wait();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->transport.code(), absl::StatusCode::kUnavailable) << response->transport;
}

TEST(HttpFetcherTest, ABodyOverTheLimitIsRejected) {
  FakeGoogleServer server;
  server.Respond({.body = std::string(5000, 'x')});
  auto fetcher = MakeFetcher({.max_response_bytes = 1000});
  Awaited<HttpResponse> done;
  fetcher->Fetch(Get(server.url() + "/"), done.Setter());
  std::optional<HttpResponse> response = done.Wait();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->transport.code(), absl::StatusCode::kResourceExhausted)
      << response->transport;
}

TEST(HttpFetcherTest, RedirectsAreNotFollowed) {
  FakeGoogleServer elsewhere;
  FakeGoogleServer server;
  server.Respond({.status = 302, .headers = {{"Location", elsewhere.url() + "/stolen"}}});
  auto fetcher = MakeFetcher();
  Awaited<HttpResponse> done;
  fetcher->Fetch(Get(server.url() + "/?key=secret"), done.Setter());
  std::optional<HttpResponse> response = done.Wait();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status_code, 302);
  EXPECT_EQ(elsewhere.request_count(), 0u);
}

TEST(HttpFetcherTest, CapsRequestsInFlightQueuesSomeAndRefusesTheRest) {
  FakeGoogleServer server;
  server.Respond({.mode = ScriptedResponse::Mode::kHold});
  auto fetcher = MakeFetcher({.max_in_flight = 2, .max_queued = 1});
  Awaited<HttpResponse> done[4];
  for (auto& d : done) fetcher->Fetch(Get(server.url() + "/"), d.Setter());
  // The fourth is refused at once, on this thread.
  ASSERT_TRUE(done[3].ready());
  EXPECT_EQ(done[3].Wait()->transport.code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(server.WaitForRequests(2));
  // The third cannot start before a slot frees, which needs an answer.
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_FALSE(done[2].ready());
  server.Respond({});  // the third is answered at once
  const auto released = steady_clock::now();
  server.Release();
  for (int i = 0; i < 3; ++i) {
    std::optional<HttpResponse> response = done[i].Wait();
    ASSERT_TRUE(response) << i;
    EXPECT_TRUE(response->transport.ok()) << i << " " << response->transport;
  }
  // A freed slot is taken at once, not at the next poll timeout.
  EXPECT_LT(steady_clock::now() - released, milliseconds(500));
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(HttpFetcherTest, AQueuedRequestStillEndsAtItsDeadline) {
  FakeGoogleServer server;
  server.Respond({.mode = ScriptedResponse::Mode::kHold});
  auto fetcher = MakeFetcher({.max_in_flight = 1, .max_queued = 4});
  Awaited<HttpResponse> first, queued;
  fetcher->Fetch(Get(server.url() + "/", milliseconds(10'000)), first.Setter());
  ASSERT_TRUE(server.WaitForRequests(1));
  const auto start = steady_clock::now();
  fetcher->Fetch(Get(server.url() + "/", milliseconds(200)), queued.Setter());
  std::optional<HttpResponse> response = queued.Wait();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->transport.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(steady_clock::now() - start, milliseconds(1000));
  EXPECT_FALSE(first.ready());
  server.Release();
  ASSERT_TRUE(first.Wait());
  EXPECT_TRUE(first.Wait()->transport.ok());
}

TEST(HttpFetcherTest, DestroyingAnswersWhatIsPendingOnce) {
  FakeGoogleServer server;
  server.Respond({.mode = ScriptedResponse::Mode::kHang});
  auto fetcher = MakeFetcher({.max_in_flight = 1, .max_queued = 4});
  Awaited<HttpResponse> running, queued;
  fetcher->Fetch(Get(server.url() + "/"), running.Setter());
  fetcher->Fetch(Get(server.url() + "/"), queued.Setter());
  ASSERT_TRUE(server.WaitForRequests(1));
  fetcher.reset();
  ASSERT_TRUE(running.ready());
  ASSERT_TRUE(queued.ready());
  EXPECT_EQ(running.Wait()->transport.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(queued.Wait()->transport.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(running.sets(), 1);
  EXPECT_EQ(queued.sets(), 1);
}

}  // namespace
}  // namespace herd
