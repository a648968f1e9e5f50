// CachingPlacesProvider: single-flight, TTL with an injected clock, the LRU
// bound; with a scripted inner provider, then with the Google provider and a
// real HTTP server on loopback.

#include "places/places_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/synchronization/mutex.h"
#include "common/server_log.h"
#include "places/google_provider.h"
#include "tests/places/awaited.h"
#include "tests/places/fake_google_server.h"

namespace herd {
namespace {

using ::herd::testing::Awaited;
using ::herd::testing::FakeGoogleServer;
using ::herd::testing::PlacesNewBody;
using ::herd::testing::ScriptedResponse;
using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// A provider that records questions and answers only when told to.
class ScriptedProvider : public PlacesProvider {
 public:
  void Nearby(const PlacesQuery& query, Callback done) override {
    absl::MutexLock l(&mu_);
    queries_.push_back(query);
    pending_.push_back(std::move(done));
  }

  // Answers every pending question with `answer` (outside the lock, as a
  // provider thread would).
  void AnswerAll(const json& answer) {
    std::vector<Callback> pending;
    {
      absl::MutexLock l(&mu_);
      pending.swap(pending_);
    }
    for (Callback& done : pending) std::move(done)(answer);
  }

  std::vector<PlacesQuery> queries() const {
    absl::MutexLock l(&mu_);
    return queries_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<PlacesQuery> queries_ ABSL_GUARDED_BY(mu_);
  std::vector<Callback> pending_ ABSL_GUARDED_BY(mu_);
};

// A clock the test moves by hand.
class FakeClock {
 public:
  Clock::time_point Now() const { return Clock::time_point(milliseconds(now_ms_.load())); }
  void Advance(milliseconds by) { now_ms_ += by.count(); }
  CachingPlacesProvider::MonotonicClock AsFunction() {
    return [this] { return Now(); };
  }

 private:
  std::atomic<int64_t> now_ms_{1'000'000};
};

json Answer(int count, const std::string& status = "OK") {
  json results = json::array();
  for (int i = 0; i < count; ++i) results.push_back({{"name", "P" + std::to_string(i)}});
  return {{"html_attributions", json::array()}, {"results", results}, {"status", status}};
}

PlacesQuery Ucla(double radius_km = 10, int max_results = 5) {
  return {34.068930, -118.445127, radius_km, max_results};
}

class PlacesCacheTest : public ::testing::Test {
 protected:
  void Make(milliseconds ttl = milliseconds(60'000), size_t max_entries = 100) {
    auto inner = std::make_unique<ScriptedProvider>();
    inner_ = inner.get();
    CachingPlacesProvider::Options options;
    options.ttl = ttl;
    options.max_entries = max_entries;
    options.clock = clock_.AsFunction();
    cache_ = std::make_unique<CachingPlacesProvider>(std::move(inner), options);
  }

  // Asks, answering upstream with `upstream` if the cache goes there.
  json AskAnswering(const PlacesQuery& query, const json& upstream) {
    Awaited<json> answer;
    cache_->Nearby(query, answer.Setter());
    inner_->AnswerAll(upstream);
    EXPECT_TRUE(answer.ready());
    return answer.Wait().value_or(json());
  }

  FakeClock clock_;
  ScriptedProvider* inner_ = nullptr;
  std::unique_ptr<CachingPlacesProvider> cache_;
};

TEST_F(PlacesCacheTest, ConcurrentIdenticalQuestionsMakeOneUpstreamRequest) {
  Make();
  constexpr int kCallers = 10;
  std::vector<std::unique_ptr<Awaited<json>>> answers;
  for (int i = 0; i < kCallers; ++i) {
    answers.push_back(std::make_unique<Awaited<json>>());
    // Different bounds share the flight: upstream is asked for the most.
    cache_->Nearby(Ucla(10, 1 + i), answers.back()->Setter());
  }
  ASSERT_EQ(inner_->queries().size(), 1u);
  EXPECT_EQ(inner_->queries()[0].max_results, kMaxResults);
  EXPECT_FALSE(answers[0]->ready());
  inner_->AnswerAll(Answer(20));
  for (int i = 0; i < kCallers; ++i) {
    ASSERT_TRUE(answers[i]->ready()) << i;
    const json j = *answers[i]->Wait();
    EXPECT_EQ(j.at("results").size(), static_cast<size_t>(1 + i));
    EXPECT_EQ(j.at("status"), "OK");
    EXPECT_EQ(answers[i]->sets(), 1);
  }
  EXPECT_EQ(cache_->stats().misses, 1u);
  EXPECT_EQ(cache_->stats().joined, static_cast<uint64_t>(kCallers - 1));
}

TEST_F(PlacesCacheTest, ConcurrentCallersOnManyThreadsMakeOneUpstreamRequest) {
  Make();
  constexpr int kThreads = 8;
  std::vector<std::unique_ptr<Awaited<json>>> answers;
  for (int i = 0; i < kThreads; ++i) answers.push_back(std::make_unique<Awaited<json>>());
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { cache_->Nearby(Ucla(), answers[i]->Setter()); });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(inner_->queries().size(), 1u);
  inner_->AnswerAll(Answer(3));
  for (auto& answer : answers) {
    ASSERT_TRUE(answer->ready());
    EXPECT_EQ(answer->Wait()->at("results").size(), 3u);
  }
}

TEST_F(PlacesCacheTest, ARepeatInsideTheTtlIsAnsweredAtOnceWithoutUpstream) {
  Make(milliseconds(60'000));
  AskAnswering(Ucla(10, 5), Answer(7));
  clock_.Advance(milliseconds(59'999));
  Awaited<json> again;
  cache_->Nearby(Ucla(10, 2), again.Setter());
  ASSERT_TRUE(again.ready());  // before Nearby() returned
  EXPECT_EQ(again.Wait()->at("results").size(), 2u);
  EXPECT_EQ(inner_->queries().size(), 1u);
  EXPECT_EQ(cache_->stats().hits, 1u);
}

TEST_F(PlacesCacheTest, AfterTheTtlUpstreamIsAskedAgain) {
  Make(milliseconds(60'000));
  AskAnswering(Ucla(), Answer(1));
  clock_.Advance(milliseconds(60'000));
  const json fresh = AskAnswering(Ucla(), Answer(2));
  EXPECT_EQ(inner_->queries().size(), 2u);
  EXPECT_EQ(fresh.at("results").size(), 2u);
  // And the fresh answer is cached in turn.
  AskAnswering(Ucla(), Answer(9));
  EXPECT_EQ(inner_->queries().size(), 2u);
}

TEST_F(PlacesCacheTest, LocationAndRadiusAreTheKey) {
  Make();
  AskAnswering(Ucla(10), Answer(1));
  AskAnswering(Ucla(11), Answer(1));
  AskAnswering({34.068931, -118.445127, 10, 5}, Answer(1));
  AskAnswering({34.068930, -118.445128, 10, 5}, Answer(1));
  EXPECT_EQ(inner_->queries().size(), 4u);
  AskAnswering(Ucla(10, 20), Answer(1));  // the bound is not
  EXPECT_EQ(inner_->queries().size(), 4u);
}

TEST_F(PlacesCacheTest, FailuresReachEveryWaiterAndAreNotKept) {
  Make();
  Awaited<json> a, b;
  cache_->Nearby(Ucla(), a.Setter());
  cache_->Nearby(Ucla(), b.Setter());
  inner_->AnswerAll(Answer(0, "OVER_QUERY_LIMIT"));
  EXPECT_EQ(a.Wait()->at("status"), "OVER_QUERY_LIMIT");
  EXPECT_EQ(b.Wait()->at("status"), "OVER_QUERY_LIMIT");
  EXPECT_EQ(inner_->queries().size(), 1u);
  EXPECT_EQ(AskAnswering(Ucla(), Answer(1)).at("status"), "OK");
  EXPECT_EQ(inner_->queries().size(), 2u);
}

TEST_F(PlacesCacheTest, ZeroResultsIsKept) {
  Make();
  AskAnswering(Ucla(), Answer(0, "ZERO_RESULTS"));
  EXPECT_EQ(AskAnswering(Ucla(), Answer(5)).at("status"), "ZERO_RESULTS");
  EXPECT_EQ(inner_->queries().size(), 1u);
}

TEST_F(PlacesCacheTest, TheLeastRecentlyUsedAnswerIsDroppedOverTheBound) {
  Make(milliseconds(60'000), /*max_entries=*/2);
  AskAnswering(Ucla(1), Answer(1));  // A
  AskAnswering(Ucla(2), Answer(1));  // B
  AskAnswering(Ucla(1), Answer(1));  // A used again: B is now the coldest
  AskAnswering(Ucla(3), Answer(1));  // C pushes B out
  EXPECT_EQ(inner_->queries().size(), 3u);
  EXPECT_EQ(cache_->stats().entries, 2u);
  AskAnswering(Ucla(1), Answer(1));  // A still there
  AskAnswering(Ucla(3), Answer(1));  // C too
  EXPECT_EQ(inner_->queries().size(), 3u);
  AskAnswering(Ucla(2), Answer(1));  // B is asked again
  EXPECT_EQ(inner_->queries().size(), 4u);
}

TEST_F(PlacesCacheTest, ExpiredAnswersAreDroppedFirst) {
  Make(milliseconds(1000), /*max_entries=*/100);
  AskAnswering(Ucla(1), Answer(1));
  AskAnswering(Ucla(2), Answer(1));
  clock_.Advance(milliseconds(1000));
  AskAnswering(Ucla(3), Answer(1));
  EXPECT_EQ(cache_->stats().entries, 1u);
}

TEST_F(PlacesCacheTest, ZeroTtlKeepsNothingButStillSharesAFlight) {
  Make(milliseconds(0));
  Awaited<json> a, b;
  cache_->Nearby(Ucla(), a.Setter());
  cache_->Nearby(Ucla(), b.Setter());
  EXPECT_EQ(inner_->queries().size(), 1u);
  inner_->AnswerAll(Answer(1));
  ASSERT_TRUE(a.ready() && b.ready());
  AskAnswering(Ucla(), Answer(1));
  EXPECT_EQ(inner_->queries().size(), 2u);
  EXPECT_EQ(cache_->stats().entries, 0u);
}

TEST_F(PlacesCacheTest, AnInvalidQueryIsAnsweredAtOnce) {
  Make();
  Awaited<json> answer;
  cache_->Nearby({0, 0, 1, 21}, answer.Setter());
  ASSERT_TRUE(answer.ready());
  EXPECT_EQ(answer.Wait()->at("status"), "INVALID_REQUEST");
  EXPECT_TRUE(inner_->queries().empty());
}

TEST_F(PlacesCacheTest, RenderedNowIsNullUntilAnAnswerIsKept) {
  Make();
  EXPECT_EQ(cache_->RenderedNow(Ucla()), nullptr);
  Awaited<json> answer;
  cache_->Nearby(Ucla(), answer.Setter());
  EXPECT_EQ(cache_->RenderedNow(Ucla()), nullptr);  // still upstream
  inner_->AnswerAll(Answer(8));
  ASSERT_TRUE(answer.ready());
  EXPECT_EQ(cache_->RenderedNow({0, 0, 1, 21}), nullptr);  // invalid
  EXPECT_EQ(cache_->stats().hits, 0u);
  EXPECT_EQ(inner_->queries().size(), 1u);
}

TEST_F(PlacesCacheTest, RenderedNowRendersTheBoundOnceAndReusesIt) {
  Make();
  AskAnswering(Ucla(10, 5), Answer(8));
  const std::shared_ptr<const PlacesText> three = cache_->RenderedNow(Ucla(10, 3));
  ASSERT_NE(three, nullptr);
  const json first_three = AskAnswering(Ucla(10, 3), Answer(8));
  EXPECT_EQ(three->indented, first_three.dump(3));
  EXPECT_EQ(three->one_line, first_three.dump());
  EXPECT_EQ(cache_->RenderedNow(Ucla(10, 3)), three);  // the same text, not rendered again
  EXPECT_EQ(cache_->RenderedNow(Ucla(10, 5))->indented, Answer(5).dump(3));
  EXPECT_EQ(cache_->stats().hits, 4u);
  EXPECT_EQ(inner_->queries().size(), 1u);
}

TEST_F(PlacesCacheTest, RenderedTextsAreBoundedAndGoWithTheirAnswer) {
  Make(milliseconds(1000));
  AskAnswering(Ucla(), Answer(8));
  std::vector<std::shared_ptr<const PlacesText>> texts;
  for (int bound = 1; bound <= 3; ++bound) texts.push_back(cache_->RenderedNow(Ucla(10, bound)));
  EXPECT_NE(cache_->RenderedNow(Ucla(10, 1)), texts[0]);  // dropped (oldest of three), renders anew
  EXPECT_EQ(cache_->RenderedNow(Ucla(10, 3)), texts[2]);
  clock_.Advance(milliseconds(1000));
  EXPECT_EQ(cache_->RenderedNow(Ucla(10, 3)), nullptr);  // expired with its answer
  AskAnswering(Ucla(), Answer(2));
  EXPECT_EQ(cache_->RenderedNow(Ucla(10, 3))->indented, Answer(2).dump(3));
}

TEST(RenderPlacesTextTest, IndentsByThreeAndReplacesInvalidUtf8) {
  const PlacesText text = RenderPlacesText({{"results", {"caf\xC3"}}, {"status", "OK"}});
  EXPECT_EQ(text.indented,
            "{\n   \"results\": [\n      \"caf\xEF\xBF\xBD\"\n   ],\n   \"status\": \"OK\"\n}");
  EXPECT_EQ(text.one_line, "{\"results\":[\"caf\xEF\xBF\xBD\"],\"status\":\"OK\"}");
}

// The same, end to end: the cache over the Google provider over HTTP.
class CachedGoogleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GoogleOptions google;
    google.endpoint = server_.url();
    google.api_key = "k";
    auto inner = GooglePlacesProvider::Create(google, log_.get());
    ASSERT_TRUE(inner.ok()) << inner.status();
    CachingPlacesProvider::Options options;
    options.ttl = milliseconds(60'000);
    options.clock = clock_.AsFunction();
    cache_ = std::make_unique<CachingPlacesProvider>(*std::move(inner), options);
  }

  json Ask(const PlacesQuery& query) {
    Awaited<json> answer;
    cache_->Nearby(query, answer.Setter());
    return answer.Wait().value_or(json());
  }

  std::unique_ptr<ServerLog> log_ = ServerLog::Discard();
  FakeGoogleServer server_;
  FakeClock clock_;
  std::unique_ptr<CachingPlacesProvider> cache_;
};

TEST_F(CachedGoogleTest, NConcurrentIdenticalQueriesAreOneHttpRequest) {
  server_.Respond({.body = PlacesNewBody(20), .mode = ScriptedResponse::Mode::kHold});
  constexpr int kCallers = 16;
  std::vector<std::unique_ptr<Awaited<json>>> answers;
  for (int i = 0; i < kCallers; ++i) {
    answers.push_back(std::make_unique<Awaited<json>>());
    cache_->Nearby(Ucla(10, 5), answers.back()->Setter());
  }
  ASSERT_TRUE(server_.WaitForRequests(1));
  server_.Release();
  for (auto& answer : answers) {
    std::optional<json> j = answer->Wait();
    ASSERT_TRUE(j);
    EXPECT_EQ(j->at("status"), "OK");
    EXPECT_EQ(j->at("results").size(), 5u);
  }
  EXPECT_EQ(server_.request_count(), 1u);
  EXPECT_EQ(json::parse(server_.requests()[0].body).at("maxResultCount"), 20);
}

TEST_F(CachedGoogleTest, RepeatInsideTheTtlIsZeroRequestsAfterItOne) {
  server_.Respond({.body = PlacesNewBody(3)});
  EXPECT_EQ(Ask(Ucla()).at("results").size(), 3u);
  EXPECT_EQ(server_.request_count(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Ask(Ucla(10, 2)).at("results").size(), 2u);
  EXPECT_EQ(server_.request_count(), 1u);
  clock_.Advance(milliseconds(60'001));
  EXPECT_EQ(Ask(Ucla()).at("status"), "OK");
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(CachedGoogleTest, DestroyingWithAHungRequestAnswersItOnce) {
  server_.Respond({.mode = ScriptedResponse::Mode::kHang});
  Awaited<json> answer;
  cache_->Nearby(Ucla(), answer.Setter());
  ASSERT_TRUE(server_.WaitForRequests(1));
  cache_.reset();
  ASSERT_TRUE(answer.ready());
  EXPECT_EQ(answer.Wait()->at("status"), "UNKNOWN_ERROR");
  EXPECT_EQ(answer.sets(), 1);
}

}  // namespace
}  // namespace herd
