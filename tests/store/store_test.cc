#include "store/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace herd {
namespace {

Record At(std::string client, std::string time, std::string origin = "Riley") {
  return Record{std::move(client), std::move(origin), "+0.000000001", "+1.0+2.0", std::move(time)};
}

constexpr int64_t kSecond = 1'000'000'000;

// Limits with a client TTL of `ttl_s` on the injected clock `now`.
Store::Limits TtlLimits(std::atomic<int64_t>* now, int64_t ttl_s) {
  Store::Limits limits;
  limits.client_ttl_ns = ttl_s * kSecond;
  limits.now = [now] { return now->load(); };
  return limits;
}

TEST(StoreTest, SaysWhichRecordAnAcceptedOneReplaced) {
  Store store(1);
  std::optional<Record> replaced = At("stale", "1");
  EXPECT_EQ(store.Apply(At("kiwi", "10"), {}, nullptr, &replaced), Store::Outcome::kAccepted);
  EXPECT_FALSE(replaced.has_value()) << "a new client replaces nothing";
  EXPECT_EQ(store.Apply(At("kiwi", "11"), {}, nullptr, &replaced), Store::Outcome::kAccepted);
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(*replaced, At("kiwi", "10"));
  replaced.reset();
  EXPECT_EQ(store.Apply(At("kiwi", "9"), {}, nullptr, &replaced), Store::Outcome::kStale);
  EXPECT_FALSE(replaced.has_value()) << "a stale record replaces nothing";
}

TEST(StoreTest, KeepsTheNewestAndIgnoresStale) {
  Store store(1);
  EXPECT_EQ(store.Apply(At("kiwi", "1621464827.959498503")), Store::Outcome::kAccepted);
  EXPECT_EQ(store.Apply(At("kiwi", "1621464827.959498504")), Store::Outcome::kAccepted);
  EXPECT_EQ(store.Apply(At("kiwi", "1621464827.959498503")), Store::Outcome::kStale);
  EXPECT_EQ(store.Apply(At("kiwi", "1621464827.959498504")), Store::Outcome::kStale);
  ASSERT_TRUE(store.Get("kiwi").has_value());
  EXPECT_EQ(store.Get("kiwi")->client_time, "1621464827.959498504");
  EXPECT_FALSE(store.Get("nobody").has_value());
  EXPECT_EQ(store.size(), 1u);
}

TEST(StoreTest, TieBreakGivesTheSameRecordInEitherOrder) {
  Store a(1), b(2);
  const Record riley = At("kiwi", "5", "Riley");
  const Record bernard = At("kiwi", "5", "Bernard");
  a.Apply(riley);
  a.Apply(bernard);
  b.Apply(bernard);
  b.Apply(riley);
  EXPECT_EQ(*a.Get("kiwi"), *b.Get("kiwi"));
}

TEST(StoreTest, FeedHoldsEachClientOnceAtItsNewestVersion) {
  Store store(1);
  store.Apply(At("a", "1"));
  store.Apply(At("b", "1"));
  store.Apply(At("a", "2"));
  Store::Cursor cursor;
  std::vector<Store::FeedEntry> feed = store.ReadAfter(&cursor, 100);
  ASSERT_EQ(feed.size(), 2u);
  std::map<std::string, std::string> latest;
  for (const auto& entry : feed) latest[entry.record.client_id] = entry.record.client_time;
  EXPECT_EQ(latest["a"], "2");
  EXPECT_EQ(latest["b"], "1");
  EXPECT_TRUE(store.ReadAfter(&cursor, 100).empty());
  EXPECT_FALSE(store.HasAfter(cursor));
  store.Apply(At("b", "3"));
  EXPECT_TRUE(store.HasAfter(cursor));
  feed = store.ReadAfter(&cursor, 100);
  ASSERT_EQ(feed.size(), 1u);
  EXPECT_EQ(feed[0].record.client_time, "3");
}

TEST(StoreTest, FeedReadsInBoundedBatchesAndSkipsOneNeighbour) {
  Store store(1);
  const Store::Source jaquez{"Jaquez", 7};
  for (int i = 0; i < 50; ++i) store.Apply(At("c" + std::to_string(i), "1"), jaquez);
  for (int i = 50; i < 100; ++i) store.Apply(At("c" + std::to_string(i), "1"));
  for (int i = 100; i < 110; ++i) {
    store.Apply(At("c" + std::to_string(i), "1"), Store::Source{"Jaquez", 8});
  }
  EXPECT_EQ(store.CountAfter(Store::Cursor(), 1000), 110u);
  EXPECT_EQ(store.CountAfter(Store::Cursor(), 20), 20u);
  Store::Cursor cursor;
  size_t total = 0;
  for (;;) {
    std::vector<Store::FeedEntry> batch = store.ReadAfter(&cursor, 7, jaquez);
    ASSERT_LE(batch.size(), 7u);
    for (const auto& entry : batch) EXPECT_NE(entry.via, jaquez);
    total += batch.size();
    if (!store.HasAfter(cursor)) break;
  }
  // Records from Jaquez's current epoch are skipped; from an older one
  // (Jaquez restarted and lost them) they are sent back.
  EXPECT_EQ(total, 60u);
}

TEST(StoreTest, VisitWithASkipWalksWhatReadAfterReturns) {
  Store store(1);
  const Store::Source jaquez{"Jaquez", 7};
  for (int i = 0; i < 30; ++i) {
    store.Apply(At("c" + std::to_string(i), "1"), i % 3 == 0 ? jaquez : Store::Source{});
  }
  Store::Cursor read_cursor, visit_cursor;
  std::vector<std::string> read, visited;
  for (const auto& entry : store.ReadAfter(&read_cursor, 1000, jaquez)) {
    read.push_back(entry.record.client_id);
  }
  PackedRecord::Scratch scratch;
  const size_t count = store.VisitAfter(&visit_cursor, 1000, jaquez, [&](const PackedRecord& r) {
    visited.push_back(std::string(r.View(&scratch).client_id));
  });
  EXPECT_EQ(count, 20u);
  EXPECT_EQ(visited, read);
  EXPECT_EQ(visit_cursor.seen, read_cursor.seen);
  EXPECT_FALSE(store.HasAfter(visit_cursor));
}

TEST(StoreTest, NotifyOnceTellsTheListenersOnceForABatch) {
  Store store(1), other(2);
  std::atomic<int> calls = 0, other_calls = 0;
  store.AddListener([&] { ++calls; });
  other.AddListener([&] { ++other_calls; });
  {
    Store::NotifyOnce notify_once(&store);
    store.Apply(At("a", "1"));
    store.Apply(At("b", "1"));
    store.Apply(At("b", "0"));  // stale
    other.Apply(At("a", "1"));  // another store is told as usual
    EXPECT_EQ(calls.load(), 0);
    EXPECT_EQ(other_calls.load(), 1);
  }
  EXPECT_EQ(calls.load(), 1);
  {
    Store::NotifyOnce notify_once(&store);
    store.Apply(At("a", "0"));  // nothing accepted: nothing to tell
  }
  EXPECT_EQ(calls.load(), 1);
  store.Apply(At("c", "1"));  // and after it, once per record again
  EXPECT_EQ(calls.load(), 2);
}

TEST(StoreTest, EndCursorSeesOnlyWhatComesLater) {
  Store store(1);
  store.Apply(At("a", "1"));
  Store::Cursor cursor = store.End();
  EXPECT_FALSE(store.HasAfter(cursor));
  store.Apply(At("b", "1"));
  std::vector<Store::FeedEntry> feed = store.ReadAfter(&cursor, 10);
  ASSERT_EQ(feed.size(), 1u);
  EXPECT_EQ(feed[0].record.client_id, "b");
}

TEST(StoreTest, ListenersHearAcceptedRecordsOnly) {
  Store store(1);
  std::atomic<int> calls = 0;
  const int64_t id = store.AddListener([&] { ++calls; });
  store.Apply(At("a", "2"));
  store.Apply(At("a", "1"));  // stale
  EXPECT_EQ(calls.load(), 1);
  store.RemoveListener(id);
  store.Apply(At("a", "3"));
  EXPECT_EQ(calls.load(), 1);
}

TEST(StoreTest, ConcurrentAppliesEndWithTheNewestPerClient) {
  Store store(1);
  constexpr int kThreads = 8;
  constexpr int kClients = 200;
  constexpr int kTimes = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      // Each thread applies every (client, time) in its own shuffled order.
      for (int k = 0; k < kClients * kTimes; ++k) {
        const int n = (k * 7919 + t * 104729) % (kClients * kTimes);
        store.Apply(At("client" + std::to_string(n % kClients),
                       "1000." + std::to_string(100 + n / kClients)));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(store.size(), size_t{kClients});
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(store.Get("client" + std::to_string(c))->client_time,
              "1000." + std::to_string(100 + kTimes - 1));
  }
  // And the feed holds exactly one entry per client.
  Store::Cursor cursor;
  EXPECT_EQ(store.ReadAfter(&cursor, 1'000'000).size(), size_t{kClients});
}

}  // namespace
}  // namespace herd

namespace herd {
namespace {

Record AtPlace(std::string client, std::string time, std::string location) {
  return Record{std::move(client), "Riley", "+0.000000001", std::move(location), std::move(time)};
}

// The clients VisitMovedAfter hands over from `cursor` to the end.
std::vector<std::string> Moved(Store* store, Store::Cursor* cursor) {
  std::vector<std::string> ids;
  while (store->VisitMovedAfter(cursor, 2, [&](const PackedRecord& record) {
    ids.emplace_back(record.client_id());
  }) > 0) {
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(StoreMoveTrackingTest, OnlyTheFirstClaimWins) {
  Store store(1);
  EXPECT_TRUE(store.ClaimMoveTracking());
  EXPECT_FALSE(store.ClaimMoveTracking());
}

TEST(StoreMoveTrackingTest, HandsOverNewAndMovedClientsOnly) {
  Store store(1);
  ASSERT_TRUE(store.ClaimMoveTracking());
  Store::Cursor cursor;
  store.Apply(AtPlace("a", "1", "+1+1"));
  store.Apply(AtPlace("b", "1", "+2+2"));
  store.Apply(AtPlace("c", "1", "+3+3"));
  EXPECT_EQ(Moved(&store, &cursor), (std::vector<std::string>{"a", "b", "c"}));
  store.Apply(AtPlace("a", "2", "+1+1"));    // stays
  store.Apply(AtPlace("b", "2", "+2.5+2"));  // moves
  EXPECT_EQ(Moved(&store, &cursor), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(Moved(&store, &cursor).empty());
}

TEST(StoreMoveTrackingTest, AMoveUnseenSurvivesLaterReportsFromTheSamePlace) {
  Store store(1);
  ASSERT_TRUE(store.ClaimMoveTracking());
  Store::Cursor cursor;
  store.Apply(AtPlace("a", "1", "+1+1"));
  EXPECT_EQ(Moved(&store, &cursor), (std::vector<std::string>{"a"}));
  store.Apply(AtPlace("a", "2", "+5+5"));  // moves, unseen...
  store.Apply(AtPlace("a", "3", "+5+5"));  // ...then stays: still to be seen
  store.Apply(AtPlace("a", "4", "+5+5"));
  EXPECT_EQ(Moved(&store, &cursor), (std::vector<std::string>{"a"}));
  store.Apply(AtPlace("a", "5", "+6+6"));  // moves and comes back unseen
  store.Apply(AtPlace("a", "6", "+5+5"));
  EXPECT_EQ(Moved(&store, &cursor), (std::vector<std::string>{"a"}));
}

TEST(StoreMoveTrackingTest, MovesAreReadByTheTrackerOnlyNotOtherReaders) {
  Store store(1);
  ASSERT_TRUE(store.ClaimMoveTracking());
  Store::Cursor tracker, other;
  store.Apply(AtPlace("a", "1", "+1+1"));
  EXPECT_EQ(store.ReadAfter(&other, 10).size(), 1u);  // plain reads leave the mark
  EXPECT_EQ(Moved(&store, &tracker), (std::vector<std::string>{"a"}));
  store.Apply(AtPlace("a", "2", "+1+1"));
  EXPECT_EQ(store.ReadAfter(&other, 10).size(), 1u);  // every version, moved or not
  EXPECT_TRUE(Moved(&store, &tracker).empty());
}

TEST(StoreLimitsTest, MaxClientsRefusesNewClientsButNotUpdates) {
  Store::Limits limits;
  limits.max_clients = 2;
  Store store(1, limits);
  EXPECT_EQ(store.Apply(At("a", "1")), Store::Outcome::kAccepted);
  EXPECT_EQ(store.Apply(At("b", "1")), Store::Outcome::kAccepted);
  EXPECT_EQ(store.Apply(At("c", "1")), Store::Outcome::kRefused);
  EXPECT_EQ(store.Apply(At("a", "2")), Store::Outcome::kAccepted);  // existing: updates
  EXPECT_EQ(store.Apply(At("a", "1")), Store::Outcome::kStale);
  EXPECT_EQ(store.size(), 2u);
  EXPECT_FALSE(store.Get("c").has_value());
  EXPECT_EQ(store.refused_total(), 1u);
}

TEST(StoreLimitsTest, MaxClientsHoldsUnderConcurrentNewClients) {
  Store::Limits limits;
  limits.max_clients = 1000;
  Store store(1, limits);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 1000; ++i)
        store.Apply(At("t" + std::to_string(t) + "-" + std::to_string(i), "1"));
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(store.size(), 1000u);
  EXPECT_EQ(store.refused_total(), 3000u);
}

// Expiry is computed from the record alone (client time + time difference
// = the origin's receive time), so two servers agree without talking.
TEST(StoreLimitsTest, ClientTtlForgetsDeterministicallyAndNeverResurrects) {
  std::atomic<int64_t> now{1000 * kSecond};
  const Store::Limits limits = TtlLimits(&now, 60);
  Store a(1, limits), b(2, limits);
  // Received at 990 s (client time 989.5 + 0.5): expires at 1050 s.
  const Record old{"old", "Riley", "+0.500000000", "+1+2", "989.5"};
  // Received at 999 s: expires at 1059 s.
  const Record fresh{"fresh", "Riley", "+1.000000000", "+1+2", "998"};
  for (Store* store : {&a, &b}) {
    EXPECT_EQ(store->Apply(old), Store::Outcome::kAccepted);
    EXPECT_EQ(store->Apply(fresh), Store::Outcome::kAccepted);
  }
  now = 1049 * kSecond;
  EXPECT_EQ(a.ForgetExpired(), 0u);
  now = 1050 * kSecond;
  EXPECT_FALSE(b.Get("old").has_value());  // expired, even before a sweep
  EXPECT_TRUE(b.Get("fresh").has_value());
  EXPECT_EQ(a.ForgetExpired(), 1u);
  EXPECT_EQ(b.ForgetExpired(), 1u);
  EXPECT_EQ(a.size(), 1u);
  // A neighbour that has not swept yet sends it again: not resurrected.
  EXPECT_EQ(a.Apply(old), Store::Outcome::kExpired);
  EXPECT_FALSE(a.Get("old").has_value());
  EXPECT_EQ(a.expired_total(), 1u);
  // A new report of that client is a new client.
  const Record back{"old", "Riley", "+0.000000000", "+1+2", "1050"};
  EXPECT_EQ(a.Apply(back), Store::Outcome::kAccepted);
  EXPECT_EQ(a.Get("old")->client_time, "1050");
  now = 1060 * kSecond;
  EXPECT_EQ(a.ForgetExpired(), 1u);  // fresh
  EXPECT_EQ(a.size(), 1u);
}

TEST(StoreTest, RecordBytesFollowTheRecordsKept) {
  std::atomic<int64_t> now{1000 * kSecond};
  const Store::Limits limits = TtlLimits(&now, 60);
  Store store(1, limits);
  EXPECT_EQ(store.record_bytes(), 0);
  for (int c = 0; c < 100; ++c) store.Apply(At("c" + std::to_string(c), "999"));
  const int64_t hundred = store.record_bytes();
  EXPECT_GE(hundred, 100 * 40);   // a block holds at least its fields
  EXPECT_LE(hundred, 100 * 256);  // and no more than a small malloc chunk
  // A newer version with a much longer time replaces the block's bytes.
  store.Apply(At("c0", "999." + std::string(500, '1')));
  EXPECT_GT(store.record_bytes(), hundred + 200);
  store.Apply(At("c0", "999.9"));  // stale: nothing changes
  now = 2000 * kSecond;
  EXPECT_EQ(store.ForgetExpired(), 100u);
  EXPECT_EQ(store.record_bytes(), 0);  // every block accounted for, both ways
}

TEST(StoreLimitsTest, ForgottenClientsFreeTheirPlaceUnderMaxClients) {
  std::atomic<int64_t> now{100 * kSecond};
  Store::Limits limits = TtlLimits(&now, 10);
  limits.max_clients = 1;
  Store store(1, limits);
  EXPECT_EQ(store.Apply(Record{"a", "R", "+0.000000000", "+1+2", "100"}),
            Store::Outcome::kAccepted);
  EXPECT_EQ(store.Apply(Record{"b", "R", "+0.000000000", "+1+2", "100"}), Store::Outcome::kRefused);
  now = 111 * kSecond;
  EXPECT_EQ(store.ForgetExpired(), 1u);
  EXPECT_EQ(store.Apply(Record{"b", "R", "+0.000000000", "+1+2", "111"}),
            Store::Outcome::kAccepted);
}

TEST(OriginReceiveNsTest, ClientTimePlusDifference) {
  EXPECT_EQ(OriginReceiveNs("1621464827.959498503", "+0.263873386"), 1621464828'223371889);
  EXPECT_EQ(OriginReceiveNs("10", "-2.500000000"), 7'500'000'000);
  EXPECT_EQ(OriginReceiveNs("9999999999999999999.5", "+0.000000000"), INT64_MAX);
}

}  // namespace
}  // namespace herd

namespace herd {
namespace {

TEST(StoreRestoreTest, AClientsShardIsTheSameInEveryProcess) {
  // FNV-1a of the id, folded: fixed values, not a per-process seed.
  EXPECT_EQ(Store::ShardOf("kiwi.cs.ucla.edu"), 5);
  EXPECT_EQ(Store::ShardOf("a"), 0);
  EXPECT_EQ(Store::ShardOf("client-17"), 9);
}

TEST(StoreRestoreTest, RestoredRecordsKeepTheirSequenceNumbers) {
  Store store(1);
  const int shard = Store::ShardOf("kiwi");
  ASSERT_EQ(store.Restore(At("kiwi", "5").view(), {}, 40), Store::Outcome::kAccepted);
  ASSERT_EQ(store.Restore(At("kiwi", "6").view(), {}, 41), Store::Outcome::kStale);
  EXPECT_EQ(store.End().seen[shard], 40u);
  Store::FeedPosition position;
  ASSERT_EQ(store.Apply(At("kiwi", "7"), {}, &position), Store::Outcome::kAccepted);
  EXPECT_EQ(position.shard, shard);
  EXPECT_EQ(position.seq, 41u);
  Store::Cursor cursor;
  std::vector<Store::FeedEntry> feed = store.ReadAfter(&cursor, 10);
  ASSERT_EQ(feed.size(), 1u);
  EXPECT_EQ(feed[0].seq, 41u);
  EXPECT_EQ(feed[0].record.client_time, "7");
}

}  // namespace
}  // namespace herd
