// WebhookSender against real HTTP servers on loopback (the fake server of
// tests/places, scripted per test): what is POSTed, which answers are
// retried and which are not, that a hanging endpoint delays no other, the
// queue bound, and a clean destruction with transfers pending.

#include "webhooks/webhook_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <stdlib.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "fences/fence_book.h"
#include "tests/places/fake_google_server.h"
#include "tests/testing/wait.h"

namespace herd {
namespace {

using ::herd::testing::FakeGoogleServer;
using ::herd::testing::RecordedRequest;
using ::herd::testing::ScriptedResponse;
using ::herd::testing::WaitFor;
using std::chrono::milliseconds;
using Mode = ScriptedResponse::Mode;

// Short backoffs, so retries come within the test's patience.
WebhookSender::Options FastOptions() {
  WebhookSender::Options options;
  options.first_backoff = milliseconds(5);
  options.max_backoff = milliseconds(20);
  options.timeout = milliseconds(10000);
  return options;
}

std::unique_ptr<WebhookSender> MakeSender(WebhookSender::Options options = FastOptions()) {
  absl::StatusOr<std::unique_ptr<WebhookSender>> sender = WebhookSender::Create(std::move(options));
  EXPECT_TRUE(sender.ok()) << sender.status();
  return sender.ok() ? *std::move(sender) : nullptr;
}

FiredEvent Event(const std::string& id, const std::string& url,
                 const std::string& fence_id = "depot") {
  FiredEvent fired;
  fired.webhook_url = url;
  fired.event.set_id(id);
  fired.event.set_fence_id(fence_id);
  fired.event.set_kind(v1::FenceEvent::ENTER);
  fired.event.set_server("Riley");
  fired.event.set_nearby_client_id("");
  v1::Location* location = fired.event.mutable_location();
  location->mutable_record()->set_client_id("kiwi.cs.ucla.edu");
  location->mutable_record()->set_origin("Riley");
  location->set_latitude(34.06893);
  location->set_longitude(-118.445127);
  fired.event.mutable_fired_at()->set_seconds(1621464828);
  return fired;
}

WebhookSender::Counters Counters(const WebhookSender& sender) { return sender.counters(); }

TEST(WebhookSenderTest, PostsTheEventAsJsonWithItsIdHeader) {
  FakeGoogleServer server;
  server.Respond({.status = 204, .body = ""});
  auto sender = MakeSender();
  sender->Send(Event("Riley-7-1", server.url() + "/hooks/fences?token=s3cret"));
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).delivered == 1; }));

  const std::vector<RecordedRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/hooks/fences");
  EXPECT_EQ(requests[0].query, "token=s3cret");
  EXPECT_EQ(requests[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(requests[0].Header("X-Herd-Event-Id"), "Riley-7-1");
  const nlohmann::json body = nlohmann::json::parse(requests[0].body);
  EXPECT_EQ(body["id"], "Riley-7-1");
  EXPECT_EQ(body["fence_id"], "depot");  // field names as in the .proto
  EXPECT_EQ(body["kind"], "ENTER");
  EXPECT_EQ(body["location"]["record"]["client_id"], "kiwi.cs.ucla.edu");
  EXPECT_EQ(body["fired_at"], "2021-05-19T22:53:48Z");
  EXPECT_EQ(requests[0].body, WebhookSender::ToJson(Event("Riley-7-1", "").event));
  EXPECT_EQ(Counters(*sender).retried, 0u);
  EXPECT_EQ(sender->held(), 0u);
}

TEST(WebhookSenderTest, RetriesAfterA500ThenDelivers) {
  FakeGoogleServer server;
  std::atomic<int> answered{0};
  server.SetHandler([&](const RecordedRequest&) {
    return ++answered == 1 ? ScriptedResponse{.status = 500} : ScriptedResponse{.status = 200};
  });
  auto sender = MakeSender();
  sender->Send(Event("Riley-7-2", server.url() + "/hook"));
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).delivered == 1; }));
  const std::vector<RecordedRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].Header("X-Herd-Event-Id"), "Riley-7-2");
  EXPECT_EQ(requests[1].Header("X-Herd-Event-Id"), "Riley-7-2");  // the same event, again
  EXPECT_EQ(requests[0].body, requests[1].body);
  const WebhookSender::Counters counters = Counters(*sender);
  EXPECT_EQ(counters.retried, 1u);
  EXPECT_EQ(counters.failed, 0u);
  EXPECT_EQ(sender->held(), 0u);
}

TEST(WebhookSenderTest, TooManyRequestsIsRetriedToo) {
  FakeGoogleServer server;
  std::atomic<int> answered{0};
  server.SetHandler([&](const RecordedRequest&) {
    return ++answered <= 2 ? ScriptedResponse{.status = 429} : ScriptedResponse{.status = 202};
  });
  auto sender = MakeSender();
  sender->Send(Event("Riley-7-3", server.url() + "/hook"));
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).delivered == 1; }));
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(Counters(*sender).retried, 2u);
}

TEST(WebhookSenderTest, GivesUpAfterMaxAttempts) {
  FakeGoogleServer server;
  server.Respond({.status = 503});
  WebhookSender::Options options = FastOptions();
  options.max_attempts = 3;
  auto sender = MakeSender(options);
  sender->Send(Event("Riley-7-4", server.url() + "/hook"));
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).failed == 1; }));
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(Counters(*sender).retried, 2u);
  EXPECT_EQ(Counters(*sender).delivered, 0u);
  EXPECT_EQ(sender->held(), 0u);  // nothing waits for another attempt
}

TEST(WebhookSenderTest, RetriesBackOffExponentiallyUpToTheMaximum) {
  FakeGoogleServer server;
  absl::Mutex mu;
  std::vector<std::chrono::steady_clock::time_point> arrivals;  // guarded by mu
  server.SetHandler([&](const RecordedRequest&) {
    absl::MutexLock lock(&mu);
    arrivals.push_back(std::chrono::steady_clock::now());
    return ScriptedResponse{.status = 500};
  });
  WebhookSender::Options options = FastOptions();
  options.first_backoff = milliseconds(40);
  options.max_backoff = milliseconds(80);
  options.max_attempts = 4;
  auto sender = MakeSender(options);
  sender->Send(Event("Riley-7-9", server.url() + "/hook"));
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).failed == 1; }));
  absl::MutexLock lock(&mu);
  ASSERT_EQ(arrivals.size(), 4u);
  // Each wait is drawn from the upper half of 40, 80, 80 (capped) ms.
  EXPECT_GE(arrivals[1] - arrivals[0], milliseconds(20));
  EXPECT_GE(arrivals[2] - arrivals[1], milliseconds(40));
  EXPECT_GE(arrivals[3] - arrivals[2], milliseconds(40));
}

TEST(WebhookSenderTest, ARefusedConnectionIsRetried) {
  WebhookSender::Options options = FastOptions();
  options.max_attempts = 2;
  auto sender = MakeSender(options);
  sender->Send(Event("Riley-7-5", absl::StrCat("http://127.0.0.1:", testing::RefusedPort(), "/")));
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).failed == 1; }));
  EXPECT_EQ(Counters(*sender).retried, 1u);
}

TEST(WebhookSenderTest, AnAttemptThatTimesOutIsRetried) {
  FakeGoogleServer hanging;
  hanging.Respond({.mode = Mode::kHang});
  WebhookSender::Options options = FastOptions();
  options.timeout = milliseconds(100);
  options.max_attempts = 2;
  auto sender = MakeSender(options);
  sender->Send(Event("Riley-7-11", hanging.url() + "/"));
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).failed == 1; }));
  EXPECT_EQ(Counters(*sender).retried, 1u);
  // The server records a request on its own thread, maybe after the
  // sender gave up on it.
  EXPECT_TRUE(WaitFor([&] { return hanging.request_count() == 2u; })) << hanging.request_count();
  EXPECT_EQ(sender->held(), 0u);
}

TEST(WebhookSenderTest, AClientErrorIsNotRetried) {
  FakeGoogleServer server;
  server.Respond({.status = 404});
  auto sender = MakeSender();
  sender->Send(Event("Riley-7-6", server.url() + "/gone"));
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).failed == 1; }));
  // Failed and held no more: no retry is waiting.
  EXPECT_EQ(sender->held(), 0u);
  EXPECT_EQ(Counters(*sender).retried, 0u);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(WebhookSenderTest, ANonHttpUrlFailsAtOnce) {
  auto sender = MakeSender();
  sender->Send(Event("Riley-7-7", "ftp://example.com/x"));
  EXPECT_EQ(Counters(*sender).failed, 1u);
  EXPECT_EQ(sender->held(), 0u);
  sender->Send(Event("Riley-7-8", ""));  // no webhook: nothing to do
  EXPECT_EQ(Counters(*sender).failed, 1u);
}

TEST(WebhookSenderTest, AHangingEndpointDelaysNoOther) {
  FakeGoogleServer hanging;
  hanging.Respond({.mode = Mode::kHang});
  FakeGoogleServer healthy;
  healthy.Respond({.status = 200});
  WebhookSender::Options options = FastOptions();
  options.max_in_flight_per_endpoint = 2;
  options.max_in_flight = 4;
  options.timeout = milliseconds(60000);  // the hung requests stay in flight
  auto sender = MakeSender(options);
  for (int i = 0; i < 10; ++i) sender->Send(Event(absl::StrCat("h-", i), hanging.url() + "/"));
  ASSERT_TRUE(hanging.WaitForRequests(2));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) sender->Send(Event(absl::StrCat("ok-", i), healthy.url() + "/"));
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).delivered == 20; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(hanging.request_count(), 2u);  // its own slots only
  EXPECT_EQ(healthy.request_count(), 20u);
  EXPECT_EQ(sender->held(), 10u);  // the hanging endpoint's, still waiting
}

TEST(WebhookSenderTest, AFullQueueDropsAndCounts) {
  FakeGoogleServer hanging;
  hanging.Respond({.mode = Mode::kHang});
  WebhookSender::Options options = FastOptions();
  options.max_queued = 3;
  options.max_in_flight_per_endpoint = 1;
  auto sender = MakeSender(options);
  for (int i = 0; i < 5; ++i) sender->Send(Event(absl::StrCat("q-", i), hanging.url() + "/"));
  // Counted by Send itself: no waiting needed.
  EXPECT_EQ(Counters(*sender).dropped, 2u);
  EXPECT_EQ(sender->held(), 3u);
  ASSERT_TRUE(hanging.WaitForRequests(1));
  EXPECT_EQ(hanging.request_count(), 1u);
}

TEST(WebhookSenderTest, AHangingEndpointFillsOnlyItsOwnShareOfTheQueue) {
  FakeGoogleServer hanging;
  hanging.Respond({.mode = Mode::kHang});
  FakeGoogleServer healthy;
  healthy.Respond({.status = 200});
  WebhookSender::Options options = FastOptions();
  options.max_queued = 10;
  options.max_queued_per_endpoint = 4;
  options.max_in_flight_per_endpoint = 1;
  auto sender = MakeSender(options);
  for (int i = 0; i < 8; ++i) sender->Send(Event(absl::StrCat("h-", i), hanging.url() + "/"));
  EXPECT_EQ(Counters(*sender).dropped, 4u) << "the hanging endpoint holds at most its share";
  EXPECT_EQ(sender->held(), 4u);
  for (int i = 0; i < 4; ++i) sender->Send(Event(absl::StrCat("ok-", i), healthy.url() + "/"));
  EXPECT_EQ(Counters(*sender).dropped, 4u) << "the healthy endpoint found room";
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).delivered == 4; }));
  EXPECT_EQ(sender->held(), 4u);
}

TEST(WebhookSenderTest, DestructionWithTransfersPendingIsClean) {
  FakeGoogleServer hanging;
  hanging.Respond({.mode = Mode::kHang});
  FakeGoogleServer failing;
  failing.Respond({.status = 500});
  WebhookSender::Options options = FastOptions();
  options.first_backoff = milliseconds(60000);  // retries wait long
  options.max_backoff = milliseconds(60000);
  options.timeout = milliseconds(60000);
  auto sender = MakeSender(options);
  for (int i = 0; i < 8; ++i) {
    sender->Send(Event(absl::StrCat("h-", i), hanging.url() + "/"));
    sender->Send(Event(absl::StrCat("f-", i), failing.url() + "/"));
  }
  ASSERT_TRUE(hanging.WaitForRequests(4));
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).retried == 8; }));
  const auto start = std::chrono::steady_clock::now();
  sender.reset();  // in flight, waiting for a slot and waiting for a retry
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(WebhookSenderTest, FailuresAreLoggedWithoutTheQuery) {
  char dir[] = "/tmp/herd-webhooks-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/webhooks.log";
  absl::StatusOr<std::unique_ptr<ServerLog>> opened = ServerLog::Open(path, {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::shared_ptr<ServerLog> log = *std::move(opened);
  FakeGoogleServer server;
  server.Respond({.status = 410});
  WebhookSender::Options options = FastOptions();
  options.log = log;
  auto sender = MakeSender(options);
  sender->Send(Event("Riley-7-10", server.url() + "/gone?token=s3cret"));
  ASSERT_TRUE(WaitFor([&] { return Counters(*sender).failed == 1; }));
  // The failure is counted first and logged just after.
  const std::string said = "webhook for event Riley-7-10 to " + server.url() +
                           "/gone failed after 1 attempt(s): HTTP 410";
  std::string text;
  EXPECT_TRUE(WaitFor([&] {
    log->Flush();
    std::ifstream file(path);
    text.assign(std::istreambuf_iterator<char>(file), {});
    return text.find(said) != std::string::npos;
  })) << text;
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("s3cret")));
}

TEST(WebhookSenderTest, EndpointsAreSchemeHostAndPort) {
  EXPECT_EQ(WebhookSender::EndpointOf("http://Example.COM:8080/a?b#c"), "http://example.com:8080");
  EXPECT_EQ(WebhookSender::EndpointOf("HTTPS://user:pw@host/x"), "https://host");
  EXPECT_EQ(WebhookSender::EndpointOf("https://host?x"), "https://host");
  EXPECT_EQ(WebhookSender::EndpointOf("ftp://host/"), "");
  EXPECT_EQ(WebhookSender::EndpointOf("host/path"), "");
  EXPECT_EQ(WebhookSender::EndpointOf("http:///path"), "");
}

TEST(WebhookSenderTest, CreateRefusesNonsense) {
  WebhookSender::Options options;
  options.max_attempts = 0;
  EXPECT_FALSE(WebhookSender::Create(options).ok());
  options = WebhookSender::Options();
  options.max_backoff = milliseconds(1);
  EXPECT_FALSE(WebhookSender::Create(options).ok());
}

}  // namespace
}  // namespace herd
