// herd.v1.Fences over real gRPC: an in-process grpc::Server on a free port
// with a real FenceBook and FenceEventFeed, called through generated stubs.
// Set/Get/List/Delete and every bad input's code and field; Watch from
// when it starts, its filter, the slow-reader rule (coalesced per fence and
// client, `skipped` exact), the stream cap and Shutdown. And the feed
// itself: coalescing, skip accounting with filters and eviction.

#include "api/fences_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <stdlib.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "api/fence_event_feed.h"
#include "fences/fence_book.h"
#include "tests/testing/wait.h"

namespace herd {
namespace {

using ::herd::testing::WaitFor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

constexpr int64_t kNow = 1621464828'223371889;

v1::Fence CircleFence(const std::string& id) {
  v1::Fence fence;
  fence.set_id(id);
  fence.mutable_circle()->set_latitude(34.06893);
  fence.mutable_circle()->set_longitude(-118.445127);
  fence.mutable_circle()->set_radius_m(500);
  return fence;
}

// An event of `fence_id` for `client_id`; `version` goes in the record's
// client time, so a reader can tell which of a key's events it got.
FiredEvent Fired(const std::string& fence_id, const std::string& client_id, int version) {
  FiredEvent fired;
  fired.event.set_id(absl::StrCat("Riley-1-", fence_id, "-", client_id, "-", version));
  fired.event.set_fence_id(fence_id);
  fired.event.set_kind(v1::FenceEvent::INSIDE);
  fired.event.mutable_location()->mutable_record()->set_client_id(client_id);
  fired.event.mutable_location()->mutable_record()->set_client_time(absl::StrCat(version));
  fired.event.set_server("Riley");
  return fired;
}

std::vector<std::string> Ids(const std::vector<std::shared_ptr<const v1::FenceEvent>>& events) {
  std::vector<std::string> ids;
  for (const auto& event : events) ids.push_back(event->id());
  return ids;
}

void ExpectInvalid(const grpc::Status& status, const std::string& field) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), StartsWith(field + ": "));
}

// --- FenceEventFeed -------------------------------------------------------

TEST(FenceEventFeedTest, AReaderGetsEachKeyOnceAtItsNewestEvent) {
  FenceEventFeed feed;
  uint64_t cursor = feed.last_seq();
  feed.Publish({Fired("a", "x", 1), Fired("a", "y", 1), Fired("a", "x", 2), Fired("b", "x", 1)});
  feed.Publish({Fired("a", "x", 3)});
  EXPECT_EQ(feed.size(), 3u);
  FenceEventFeed::Read read = feed.ReadAfter(&cursor, {}, 100, 100);
  EXPECT_THAT(Ids(read.events), ElementsAre("Riley-1-a-y-1", "Riley-1-b-x-1", "Riley-1-a-x-3"));
  EXPECT_EQ(read.skipped, 2u);  // a/x 1 and 2
  EXPECT_EQ(cursor, feed.last_seq());
  read = feed.ReadAfter(&cursor, {}, 100, 100);
  EXPECT_TRUE(read.events.empty());
  EXPECT_EQ(read.skipped, 0u);
}

TEST(FenceEventFeedTest, WhatAReaderReadIsNeverCountedAsSkipped) {
  FenceEventFeed feed;
  uint64_t cursor = 0;
  feed.Publish({Fired("a", "x", 1)});
  EXPECT_THAT(Ids(feed.ReadAfter(&cursor, {}, 100, 100).events), ElementsAre("Riley-1-a-x-1"));
  feed.Publish({Fired("a", "x", 2)});  // replaces what the reader has read
  FenceEventFeed::Read read = feed.ReadAfter(&cursor, {}, 100, 100);
  EXPECT_THAT(Ids(read.events), ElementsAre("Riley-1-a-x-2"));
  EXPECT_EQ(read.skipped, 0u);
}

TEST(FenceEventFeedTest, AFilteredReaderCountsOnlyItsFencesSkips) {
  FenceEventFeed feed;
  uint64_t cursor = 0;
  feed.Publish({Fired("b", "x", 1), Fired("b", "x", 2), Fired("a", "x", 1), Fired("b", "x", 3),
                Fired("a", "x", 2), Fired("c", "x", 1)});
  FenceEventFeed::Read read = feed.ReadAfter(&cursor, {"a", "c"}, 100, 100);
  EXPECT_THAT(Ids(read.events), ElementsAre("Riley-1-a-x-2", "Riley-1-c-x-1"));
  EXPECT_EQ(read.skipped, 1u);  // a/x 1; b's replaced events are not this reader's
}

TEST(FenceEventFeedTest, EvictionIsBoundedAndCountedForReadersThatMissedIt) {
  FenceEventFeed feed({.max_entries = 3});
  uint64_t behind = 0;
  uint64_t ahead = 0;
  feed.Publish({Fired("a", "1", 1), Fired("a", "2", 1)});
  EXPECT_EQ(feed.ReadAfter(&ahead, {}, 100, 100).events.size(), 2u);
  feed.Publish({Fired("a", "3", 1), Fired("a", "4", 1), Fired("a", "5", 1)});
  EXPECT_EQ(feed.size(), 3u);
  FenceEventFeed::Read read = feed.ReadAfter(&behind, {}, 100, 100);
  EXPECT_THAT(Ids(read.events), ElementsAre("Riley-1-a-3-1", "Riley-1-a-4-1", "Riley-1-a-5-1"));
  EXPECT_EQ(read.skipped, 2u);  // 1 and 2, evicted before it read them
  read = feed.ReadAfter(&ahead, {}, 100, 100);
  EXPECT_EQ(read.events.size(), 3u);
  EXPECT_EQ(read.skipped, 0u);  // it had read them
}

TEST(FenceEventFeedTest, ReadsAreBoundedAndResumeWhereTheyStopped) {
  FenceEventFeed feed;
  std::vector<FiredEvent> events;
  for (int i = 0; i < 10; ++i) events.push_back(Fired(i % 2 ? "odd" : "even", absl::StrCat(i), 1));
  feed.Publish(events);
  uint64_t cursor = 0;
  EXPECT_EQ(feed.ReadAfter(&cursor, {}, 4, 100).events.size(), 4u);
  EXPECT_EQ(cursor, 4u);
  // A scan bound stops a filtered read that finds nothing.
  FenceEventFeed::Read read = feed.ReadAfter(&cursor, {"odd"}, 100, 2);
  EXPECT_EQ(read.events.size(), 1u);
  EXPECT_EQ(cursor, 6u);
  read = feed.ReadAfter(&cursor, {"odd"}, 100, 100);
  EXPECT_EQ(read.events.size(), 2u);
  EXPECT_EQ(read.skipped, 0u);
}

TEST(FenceEventFeedTest, ListenersHearEachPublish) {
  FenceEventFeed feed;
  std::atomic<int> heard{0};
  const int64_t id = feed.AddListener([&] { ++heard; });
  feed.Publish({Fired("a", "x", 1)});
  feed.Publish({});  // nothing: nobody is woken
  EXPECT_EQ(heard.load(), 1);
  feed.RemoveListener(id);
  feed.Publish({Fired("a", "x", 2)});
  EXPECT_EQ(heard.load(), 1);
}

// --- The service ----------------------------------------------------------

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// A Watch call and its context (which must outlive the reader).
struct WatchCall {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::WatchFencesResponse>> reader;
  bool Next(v1::WatchFencesResponse* response) { return reader->Read(response); }
};

class FencesServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(FencesService::Options()); }
  void TearDown() override { StopServer(); }

  void StartServer(FencesService::Options options, size_t max_fences = 10000) {
    FenceBook::Options book_options;
    book_options.server_name = "Riley";
    book_options.epoch = 1;
    book_options.max_fences = max_fences;
    book_options.now_ns = [] { return kNow; };
    book_ = std::make_unique<FenceBook>(book_options);
    feed_ = std::make_shared<FenceEventFeed>();
    service_ = std::make_unique<FencesService>(book_.get(), feed_, std::move(options));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    target_ = absl::StrCat("127.0.0.1:", port);
    channel_ = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
    stub_ = v1::Fences::NewStub(channel_);
  }

  void StopServer() {
    if (server_ == nullptr) return;
    service_->Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    service_.reset();
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  grpc::Status Set(const v1::Fence& fence, v1::Fence* out = nullptr) {
    v1::SetFenceRequest request;
    *request.mutable_fence() = fence;
    v1::Fence ignored;
    return stub_->Set(Context().get(), request, out != nullptr ? out : &ignored);
  }
  grpc::Status Get(const std::string& id, v1::Fence* out) {
    v1::GetFenceRequest request;
    request.set_id(id);
    return stub_->Get(Context().get(), request, out);
  }
  grpc::Status Delete(const std::string& id, v1::DeleteFenceResponse* out = nullptr) {
    v1::DeleteFenceRequest request;
    request.set_id(id);
    v1::DeleteFenceResponse ignored;
    return stub_->Delete(Context().get(), request, out != nullptr ? out : &ignored);
  }
  grpc::Status List(int32_t page_size, const std::string& token, v1::ListFencesResponse* out) {
    v1::ListFencesRequest request;
    request.set_page_size(page_size);
    request.set_page_token(token);
    return stub_->List(Context().get(), request, out);
  }

  // A Watch that gets every event published after this returns.
  std::unique_ptr<WatchCall> Watch(const std::vector<std::string>& fence_ids = {},
                                   std::shared_ptr<grpc::Channel> channel = nullptr) {
    const size_t before = service_->watch_streams();
    auto call = StartWatch(fence_ids, std::move(channel));
    EXPECT_TRUE(WaitFor([&] { return service_->watch_streams() > before; }));
    return call;
  }
  // A Watch call, started (it may yet be refused).
  std::unique_ptr<WatchCall> StartWatch(const std::vector<std::string>& fence_ids,
                                        std::shared_ptr<grpc::Channel> channel = nullptr) {
    v1::WatchFencesRequest request;
    for (const std::string& id : fence_ids) request.add_fence_ids(id);
    auto call = std::make_unique<WatchCall>();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    auto stub = v1::Fences::NewStub(channel != nullptr ? channel : channel_);
    call->reader = stub->Watch(&call->context, request);
    return call;
  }

  std::unique_ptr<FenceBook> book_;
  std::shared_ptr<FenceEventFeed> feed_;
  std::unique_ptr<FencesService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string target_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Fences::Stub> stub_;
};

TEST_F(FencesServiceTest, SetAnswersTheStoredFenceAndGetReadsIt) {
  v1::Fence fence = CircleFence("depot");
  fence.set_webhook_url("https://example.com/hook?token=s3cret");
  fence.add_detect(v1::FenceEvent::ENTER);
  v1::Fence stored;
  ASSERT_TRUE(Set(fence).ok());
  ASSERT_TRUE(Set(fence, &stored).ok());  // a replacement, with a newer version
  EXPECT_EQ(stored.id(), "depot");
  EXPECT_EQ(stored.version().origin(), "Riley");
  EXPECT_EQ(stored.version().time_ns(), kNow + 1);
  EXPECT_EQ(stored.webhook_url(), fence.webhook_url());
  v1::Fence got;
  ASSERT_TRUE(Get("depot", &got).ok());
  EXPECT_EQ(got.SerializeAsString(), stored.SerializeAsString());
}

TEST_F(FencesServiceTest, SetAndDeleteAreLoggedWithoutTheWebhooksQuery) {
  char dir[] = "/tmp/herd-fences-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/fences.log";
  absl::StatusOr<std::unique_ptr<ServerLog>> opened = ServerLog::Open(path, {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::shared_ptr<ServerLog> log = *std::move(opened);
  StopServer();
  FencesService::Options options;
  options.log = log;
  StartServer(options);
  v1::Fence fence = CircleFence("depot");
  fence.set_webhook_url("https://hooks.example.com/in?token=s3cret");
  ASSERT_TRUE(Set(fence).ok());
  ASSERT_TRUE(Delete("depot").ok());
  log->Flush();
  const std::string text = ReadFile(path);
  EXPECT_THAT(text, HasSubstr("Fences.Set depot (circle, webhook https://hooks.example.com/in)"));
  EXPECT_THAT(text, HasSubstr("Fences.Delete depot (circle)"));
  EXPECT_THAT(text, HasSubstr("127.0.0.1"));  // the caller
  EXPECT_THAT(text, ::testing::Not(HasSubstr("s3cret")));
}

TEST_F(FencesServiceTest, ListPagesThroughEveryFenceOnceInIdOrder) {
  for (const char* id : {"g", "b", "e", "a", "f", "c", "d"}) ASSERT_TRUE(Set(CircleFence(id)).ok());
  std::vector<std::string> seen;
  std::vector<int> page_sizes;
  std::string token;
  do {
    v1::ListFencesResponse page;
    ASSERT_TRUE(List(3, token, &page).ok());
    EXPECT_EQ(page.total_size(), 7u);
    page_sizes.push_back(page.fences_size());
    for (const auto& fence : page.fences()) seen.push_back(fence.id());
    token = page.next_page_token();
  } while (!token.empty());
  EXPECT_THAT(seen, ElementsAre("a", "b", "c", "d", "e", "f", "g"));
  EXPECT_THAT(page_sizes, ElementsAre(3, 3, 1));
}

TEST_F(FencesServiceTest, ListDefaultAndMaximumPageSizes) {
  for (int i = 0; i < 1001; ++i) ASSERT_TRUE(book_->Set(CircleFence(absl::StrCat("f", i))).ok());
  v1::ListFencesResponse page;
  ASSERT_TRUE(List(0, "", &page).ok());
  EXPECT_EQ(page.fences_size(), 100);
  EXPECT_FALSE(page.next_page_token().empty());
  page.Clear();
  ASSERT_TRUE(List(5000, "", &page).ok());
  EXPECT_EQ(page.fences_size(), 1000);
  const std::string token = page.next_page_token();
  ASSERT_FALSE(token.empty());
  page.Clear();
  ASSERT_TRUE(List(5000, token, &page).ok());
  EXPECT_EQ(page.fences_size(), 1);
  EXPECT_TRUE(page.next_page_token().empty());
  EXPECT_EQ(page.total_size(), 1001u);
}

TEST_F(FencesServiceTest, DeleteAnswersTheDeletionAndTheFenceIsGone) {
  ASSERT_TRUE(Set(CircleFence("a")).ok());
  ASSERT_TRUE(Set(CircleFence("b")).ok());
  v1::DeleteFenceResponse deleted;
  ASSERT_TRUE(Delete("a", &deleted).ok());
  EXPECT_EQ(deleted.fence().id(), "a");
  EXPECT_TRUE(deleted.fence().version().deleted());
  EXPECT_TRUE(deleted.fence().has_circle());
  v1::Fence got;
  const grpc::Status gone = Get("a", &got);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(gone.error_message(), StartsWith("id: "));
  const grpc::Status again = Delete("a");
  EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(again.error_message(), StartsWith("id: "));
  v1::ListFencesResponse page;
  ASSERT_TRUE(List(0, "", &page).ok());
  ASSERT_EQ(page.fences_size(), 1);
  EXPECT_EQ(page.fences(0).id(), "b");
  EXPECT_EQ(page.total_size(), 1u);
}

TEST_F(FencesServiceTest, BadInputsNameTheirField) {
  v1::Fence no_id = CircleFence("");
  ExpectInvalid(Set(no_id), "fence.id");
  v1::Fence no_shape;
  no_shape.set_id("x");
  ExpectInvalid(Set(no_shape), "fence.shape");
  v1::Fence got;
  ExpectInvalid(Get("", &got), "id");
  ExpectInvalid(Get("not ok", &got), "id");
  ExpectInvalid(Get(std::string(129, 'a'), &got), "id");
  ExpectInvalid(Delete(""), "id");
  ExpectInvalid(Delete("a/b"), "id");
  v1::ListFencesResponse page;
  ExpectInvalid(List(-1, "", &page), "page_size");
  ExpectInvalid(List(10, "not a token!", &page), "page_token");
  // Well-formed base64, but not something List made.
  ExpectInvalid(List(10, "aGVsbG8", &page), "page_token");
  ExpectInvalid(List(10, FencesService::EncodePageToken("bad id"), &page), "page_token");
  EXPECT_TRUE(List(10, FencesService::EncodePageToken("zzz"), &page).ok());
}

TEST_F(FencesServiceTest, SetBeyondMaxFencesIsResourceExhausted) {
  StopServer();
  StartServer(FencesService::Options(), /*max_fences=*/2);
  ASSERT_TRUE(Set(CircleFence("a")).ok());
  ASSERT_TRUE(Set(CircleFence("b")).ok());
  const grpc::Status full = Set(CircleFence("c"));
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(full.error_message(), StartsWith("fence.id: "));
  EXPECT_TRUE(Set(CircleFence("a")).ok());  // replacing one is fine
}

TEST_F(FencesServiceTest, WatchStreamsEventsFiredFromWhenItStarts) {
  feed_->Publish({Fired("depot", "old", 1)});
  auto watch = Watch();
  feed_->Publish({Fired("depot", "kiwi", 1)});
  feed_->Publish({Fired("yard", "pear", 1)});
  std::vector<std::string> ids;
  v1::WatchFencesResponse message;
  while (ids.size() < 2 && watch->Next(&message)) {
    EXPECT_EQ(message.skipped(), 0u);
    for (const auto& event : message.events()) ids.push_back(event.id());
  }
  EXPECT_THAT(ids, ElementsAre("Riley-1-depot-kiwi-1", "Riley-1-yard-pear-1"));
  watch->context.TryCancel();
}

TEST_F(FencesServiceTest, WatchFiltersByFenceIds) {
  auto watch = Watch({"a", "c"});
  // b's events (one replacing another) are not this stream's: not skipped.
  feed_->Publish({Fired("b", "x", 1), Fired("b", "x", 2), Fired("a", "x", 1)});
  feed_->Publish({Fired("b", "x", 3), Fired("c", "y", 1)});
  std::vector<std::string> ids;
  uint64_t skipped = 0;
  v1::WatchFencesResponse message;
  while (ids.size() < 2 && watch->Next(&message)) {
    skipped += message.skipped();
    for (const auto& event : message.events()) ids.push_back(event.id());
  }
  EXPECT_THAT(ids, ElementsAre("Riley-1-a-x-1", "Riley-1-c-y-1"));
  EXPECT_EQ(skipped, 0u);
  watch->context.TryCancel();
}

TEST_F(FencesServiceTest, WatchErrors) {
  auto watch = StartWatch({"ok", "not ok"});
  v1::WatchFencesResponse message;
  EXPECT_FALSE(watch->Next(&message));
  ExpectInvalid(watch->reader->Finish(), "fence_ids[1]");
  std::vector<std::string> many;
  for (int i = 0; i < 1001; ++i) many.push_back(absl::StrCat("f", i));
  watch = StartWatch(many);
  EXPECT_FALSE(watch->Next(&message));
  ExpectInvalid(watch->reader->Finish(), "fence_ids");
  many.pop_back();  // 1000 is fine
  watch = Watch(many);
  feed_->Publish({Fired("f999", "x", 1)});
  ASSERT_TRUE(watch->Next(&message));
  EXPECT_EQ(message.events_size(), 1);
  watch->context.TryCancel();
}

TEST_F(FencesServiceTest, TooManyWatchStreamsAreRefused) {
  StopServer();
  FencesService::Options options;
  options.max_watch_streams = 1;
  StartServer(options);
  auto first = Watch();
  auto second = StartWatch({});
  v1::WatchFencesResponse message;
  EXPECT_FALSE(second->Next(&message));
  const grpc::Status refused = second->reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("Watch"));
  // A stream that ends makes room.
  first->context.TryCancel();
  ASSERT_TRUE(WaitFor([&] { return service_->watch_streams() == 0; }));
  auto third = Watch();
  feed_->Publish({Fired("a", "x", 1)});
  EXPECT_TRUE(third->Next(&message));
  third->context.TryCancel();
}

TEST_F(FencesServiceTest, WatchStreamsPerCallerAreCapped) {
  StopServer();
  FencesService::Options options;
  options.max_watch_streams_per_caller = 2;
  StartServer(options);
  auto first = Watch();
  auto second = Watch();
  auto third = StartWatch({});
  v1::WatchFencesResponse message;
  EXPECT_FALSE(third->Next(&message));
  const grpc::Status refused = third->reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("from ipv4:127.0.0.1 (2)"));
  EXPECT_EQ(service_->watch_streams(), 2u);  // the refused one holds no place
  // A stream that ends gives its caller's place back.
  first->context.TryCancel();
  ASSERT_TRUE(WaitFor([&] { return service_->watch_streams() == 1; }));
  auto again = Watch();
  feed_->Publish({Fired("a", "x", 1)});
  EXPECT_TRUE(again->Next(&message));
  again->context.TryCancel();
  second->context.TryCancel();
}

TEST_F(FencesServiceTest, ShutdownEndsWatchStreamsAtOnce) {
  auto watch = Watch();
  const auto start = Clock::now();
  service_->Shutdown();
  v1::WatchFencesResponse message;
  EXPECT_FALSE(watch->Next(&message));
  EXPECT_EQ(watch->reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));  // nothing held it up
  server_.reset();
  // A Watch after Shutdown is refused the same way.
  StartServer(FencesService::Options());
  service_->Shutdown();
  watch = StartWatch({});
  EXPECT_FALSE(watch->Next(&message));
  EXPECT_EQ(watch->reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

// A stream that stops reading holds one message and its cursor: publishing
// and a reader that keeps up go on at full speed, and when it reads again
// it gets each (fence, client) once at its newest event and the count of
// the events it never saw: delivered + skipped = every event published.
TEST_F(FencesServiceTest, AStalledWatcherIsCoalescedPerFenceAndClientAndCountsSkips) {
  // Small, fixed flow-control windows, so the stalled stream blocks soon.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
  auto stalled =
      Watch({}, grpc::CreateCustomChannel(target_, grpc::InsecureChannelCredentials(), args));
  auto fast = Watch();
  absl::Mutex mu;
  std::map<std::string, int> fast_newest;  // guarded by mu
  uint64_t fast_seen = 0;                  // events + skipped, guarded by mu
  std::thread fast_reader([&] {
    v1::WatchFencesResponse m;
    while (fast->Next(&m)) {
      absl::MutexLock lock(&mu);
      fast_seen += m.events_size() + m.skipped();
      for (const auto& e : m.events()) {
        fast_newest[e.fence_id() + "/" + e.location().record().client_id()] =
            std::stoi(e.location().record().client_time());
      }
    }
  });

  constexpr int kFences = 10;
  constexpr int kClients = 50;
  constexpr int kVersions = 40;  // 20,000 events in all
  for (int v = 1; v <= kVersions; ++v) {
    std::vector<FiredEvent> batch;
    for (int f = 0; f < kFences; ++f) {
      for (int c = 0; c < kClients; ++c) {
        batch.push_back(Fired(absl::StrCat("fence", f), absl::StrCat("client", c), v));
      }
    }
    feed_->Publish(batch);
  }
  const uint64_t published = uint64_t{kFences} * kClients * kVersions;
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return fast_seen == published;
  }));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(fast_newest.size(), static_cast<size_t>(kFences * kClients));
    for (const auto& [key, version] : fast_newest) EXPECT_EQ(version, kVersions) << key;
  }

  uint64_t delivered = 0, skipped = 0;
  std::map<std::string, int> newest;
  v1::WatchFencesResponse message;
  while (delivered + skipped < published) {
    ASSERT_TRUE(stalled->Next(&message)) << delivered << " + " << skipped;
    delivered += message.events_size();
    skipped += message.skipped();
    std::set<std::string> in_message;
    for (const auto& e : message.events()) {
      const std::string key = e.fence_id() + "/" + e.location().record().client_id();
      EXPECT_TRUE(in_message.insert(key).second) << "twice in one message: " << key;
      newest[key] = std::stoi(e.location().record().client_time());
    }
  }
  EXPECT_EQ(delivered + skipped, published);
  EXPECT_GT(skipped, 0u) << "the stream never stalled";
  EXPECT_EQ(newest.size(), static_cast<size_t>(kFences * kClients));
  for (const auto& [key, version] : newest) EXPECT_EQ(version, kVersions) << key;
  stalled->context.TryCancel();
  fast->context.TryCancel();
  fast_reader.join();
}

// An event reaches a waiting stream without a timer's delay: the publisher
// wakes the pump directly.
TEST_F(FencesServiceTest, AnEventReachesAWaitingStreamQuickly) {
  auto watch = Watch();
  std::vector<Clock::duration> latencies;
  v1::WatchFencesResponse message;
  for (int i = 0; i < 200; ++i) {
    const auto start = Clock::now();
    feed_->Publish({Fired("depot", "kiwi", i)});
    ASSERT_TRUE(watch->Next(&message));
    latencies.push_back(Clock::now() - start);
  }
  std::sort(latencies.begin(), latencies.end());
  const auto median = latencies[latencies.size() / 2];
  const auto p99 = latencies[latencies.size() * 99 / 100];
  std::cout << "publish to read: median "
            << std::chrono::duration_cast<std::chrono::microseconds>(median).count() << " us, p99 "
            << std::chrono::duration_cast<std::chrono::microseconds>(p99).count() << " us\n";
  // Generous for a loaded test machine; a 5 ms timer would fail it.
  EXPECT_LT(median, std::chrono::milliseconds(3));
  watch->context.TryCancel();
}

}  // namespace
}  // namespace herd
