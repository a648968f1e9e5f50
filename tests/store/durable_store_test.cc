// DurableStore on a real RocksDB in a temporary directory: records, their
// sequence numbers and sources, the epoch and the state come back after a
// clean stop; after a crash the epoch stays and numbering skips ahead; damaged or foreign data is
// an error naming the path. Tables beside the records (the fences, here with
// a real FenceBook wired as app/ wires it) survive a clean stop and a
// SIGKILL alike.

#include "store/durable_store.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "fences/durable_fences.h"
#include "fences/fence_book.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "store/store.h"

namespace herd {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "durable_store_test.XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path(const std::string& name = "Riley") const { return path_ + "/" + name; }

 private:
  std::string path_;
};

Record MakeRecord(const std::string& client, const std::string& time) {
  return Record{client, "Riley", "+0.500000000", "+34.068930-118.445127", time};
}

DurableOptions OptionsAt(const std::string& path, FsyncMode fsync = FsyncMode::kEverySec) {
  DurableOptions options;
  options.path = path;
  options.fsync = fsync;
  return options;
}

std::unique_ptr<DurableStore> OpenOrDie(const std::string& path, uint64_t fresh_epoch,
                                        FsyncMode fsync = FsyncMode::kEverySec) {
  std::filesystem::create_directories(path);
  absl::StatusOr<std::unique_ptr<DurableStore>> durable =
      DurableStore::Open(OptionsAt(path, fsync), fresh_epoch);
  EXPECT_TRUE(durable.ok()) << durable.status();
  return durable.ok() ? *std::move(durable) : nullptr;
}

// Waits (with a deadline) until the record applied at `position` is durable.
bool WaitDurable(DurableStore* durable, const Store::FeedPosition& position) {
  Store::Cursor needed;
  needed.seen[position.shard] = position.seq;
  auto done = std::make_shared<absl::Notification>();
  durable->mark()->WhenDurable(needed, [done] { done->Notify(); });
  return done->WaitForNotificationWithTimeout(absl::Seconds(10));
}

constexpr int64_t kHourNs = int64_t{3600} * 1000000000;

FenceBook::Options FenceOptionsAt(int64_t now_ns) {
  FenceBook::Options options;
  options.server_name = "Riley";
  options.deleted_ttl_ns = 24 * kHourNs;
  options.now_ns = [now_ns] { return now_ns; };
  return options;
}

v1::Fence Circle(const std::string& id, double radius_m) {
  v1::Fence fence;
  fence.set_id(id);
  fence.mutable_circle()->set_latitude(34.07);
  fence.mutable_circle()->set_longitude(-118.44);
  fence.mutable_circle()->set_radius_m(radius_m);
  return fence;
}

// Sets "kept", sets and deletes "gone" on a fresh server at `path`.
void SetAndDeleteFences(FenceBook* book) {
  ASSERT_TRUE(book->Set(Circle("kept", 100)).ok());
  ASSERT_TRUE(book->Set(Circle("gone", 200)).ok());
  ASSERT_TRUE(book->Delete("gone").ok());
}

// Opens `path` again and loads its fences into a new book at `now_ns`:
// "kept" must be live, "gone" deleted (or forgotten).
void ExpectFencesBack(const std::string& path, int64_t now_ns, bool deletion_kept) {
  auto durable = OpenOrDie(path, 43);
  ASSERT_NE(durable, nullptr);
  Store store(durable->epoch());
  ASSERT_TRUE(durable->LoadInto(&store).ok());
  FenceBook book(FenceOptionsAt(now_ns));
  ASSERT_TRUE(durable->LoadTable(DurableFences(&book, now_ns, 24 * kHourNs)).ok());
  EXPECT_EQ(durable->stats().table_entries_loaded, deletion_kept ? 2u : 1u);
  ASSERT_TRUE(book.Get("kept").has_value());
  EXPECT_EQ(book.Get("kept")->circle().radius_m(), 100);
  EXPECT_EQ(book.Get("kept")->version().origin(), "Riley");
  EXPECT_FALSE(book.Get("gone").has_value());
  uint64_t cursor = 0;
  const std::vector<v1::Fence> feed = book.ReadAfter(&cursor, 10);
  ASSERT_EQ(feed.size(), deletion_kept ? 2u : 1u);
  if (deletion_kept) {
    // The deletion is back as a version, so it still outranks an older set.
    v1::Fence older = Circle("gone", 1);
    older.mutable_version()->set_time_ns(1);
    older.mutable_version()->set_origin("Juzang");
    EXPECT_EQ(book.Apply(older), FenceBook::Outcome::kStale);
  }
  durable->Stop();
}

TEST(DurableStoreTest, FencesAndDeletionsSurviveACleanStop) {
  TempDir dir;
  {
    auto durable = OpenOrDie(dir.path(), 42);
    ASSERT_NE(durable, nullptr);
    Store store(durable->epoch());
    ASSERT_TRUE(durable->LoadInto(&store).ok());
    FenceBook book(FenceOptionsAt(kHourNs));
    ASSERT_TRUE(durable->LoadTable(DurableFences(&book, kHourNs, 24 * kHourNs)).ok());
    durable->Start(&store, nullptr);
    SetAndDeleteFences(&book);
    durable->Stop();  // the last round writes what is left
  }
  ExpectFencesBack(dir.path(), 2 * kHourNs, /*deletion_kept=*/true);
  // A day later the deletion is past the book's deleted_ttl: dropped at
  // load, and from the disk.
  ExpectFencesBack(dir.path(), 26 * kHourNs, /*deletion_kept=*/false);
  ExpectFencesBack(dir.path(), 2 * kHourNs, /*deletion_kept=*/false);
}

TEST(DurableStoreTest, FencesAndDeletionsSurviveSigkill) {
  TempDir dir;
  std::filesystem::create_directories(dir.path());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The server: sets its fences, waits until the persister has written
    // them (to the write-ahead log, never fsynced), and dies unclean.
    alarm(20);  // a hang fails the test (SIGALRM, not SIGKILL)
    absl::StatusOr<std::unique_ptr<DurableStore>> durable =
        DurableStore::Open(OptionsAt(dir.path(), FsyncMode::kNo), 42);
    if (!durable.ok()) _exit(1);
    Store store((*durable)->epoch());
    FenceBook book(FenceOptionsAt(kHourNs));
    if (!(*durable)->LoadInto(&store).ok() ||
        !(*durable)->LoadTable(DurableFences(&book, kHourNs, 24 * kHourNs)).ok()) {
      _exit(2);
    }
    (*durable)->Start(&store, nullptr);
    SetAndDeleteFences(&book);
    // A record after the fences: once it is durable, so are they (a round
    // writes the tables' changes after the feed's records, in one batch).
    Store::FeedPosition after;
    if (store.Apply(MakeRecord("kiwi", "1"), {}, &after) != Store::Outcome::kAccepted ||
        !WaitDurable(durable->get(), after)) {
      _exit(3);
    }
    kill(getpid(), SIGKILL);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the server exited with " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
      << " or signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : -1);
  ExpectFencesBack(dir.path(), 2 * kHourNs, /*deletion_kept=*/true);
}

TEST(DurableStoreTest, ATableWithABadPrefixIsRefused) {
  TempDir dir;
  auto durable = OpenOrDie(dir.path(), 1);
  FenceBook book(FenceOptionsAt(kHourNs));
  DurableTable table = DurableFences(&book, kHourNs, kHourNs);
  table.prefix = "r";  // the records'
  EXPECT_EQ(durable->LoadTable(table).code(), absl::StatusCode::kInvalidArgument);
  table.prefix = "f";
  EXPECT_TRUE(durable->LoadTable(table).ok());
  EXPECT_EQ(durable->LoadTable(table).code(), absl::StatusCode::kInvalidArgument);  // twice
  durable->Stop();
}

TEST(DurableStoreTest, RecordsSequenceNumbersSourcesAndEpochSurviveACleanStop) {
  TempDir dir;
  Store::Cursor end_before;
  {
    auto durable = OpenOrDie(dir.path(), 42);
    ASSERT_NE(durable, nullptr);
    EXPECT_FALSE(durable->kept_epoch());
    EXPECT_EQ(durable->epoch(), 42u);
    Store store(durable->epoch());
    ASSERT_TRUE(durable->LoadInto(&store).ok()) << durable->LoadInto(&store);
    durable->Start(&store, [] { return DurableStore::State{{"book/Juzang", "cursor"}}; });
    Store::FeedPosition last;
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(store.Apply(MakeRecord("c" + std::to_string(i % 30), std::to_string(1000 + i)), {},
                            &last),
                Store::Outcome::kAccepted);
    }
    ASSERT_EQ(store.Apply(MakeRecord("from-juzang", "5"), Store::Source{"Juzang", 7}, &last),
              Store::Outcome::kAccepted);
    EXPECT_TRUE(WaitDurable(durable.get(), last));
    end_before = store.End();
    durable->Stop();
  }
  auto durable = OpenOrDie(dir.path(), 43);
  ASSERT_NE(durable, nullptr);
  EXPECT_TRUE(durable->kept_epoch());
  EXPECT_EQ(durable->epoch(), 42u);
  EXPECT_EQ(durable->saved_state().at("book/Juzang"), "cursor");
  Store store(durable->epoch());
  ASSERT_TRUE(durable->LoadInto(&store).ok()) << durable->LoadInto(&store);
  EXPECT_EQ(durable->stats().records_loaded, 31u);
  EXPECT_EQ(store.size(), 31u);
  EXPECT_EQ(store.End().seen, end_before.seen);
  EXPECT_EQ(store.Get("c5")->client_time, "1095");
  // The neighbour's own record is still known as its: a link skips it.
  Store::Cursor from_start;
  for (const Store::FeedEntry& entry : store.ReadAfter(&from_start, 100, {"Juzang", 7})) {
    EXPECT_NE(entry.record.client_id, "from-juzang");
  }
  Store::Cursor again;
  bool found = false;
  for (const Store::FeedEntry& entry : store.ReadAfter(&again, 100)) {
    if (entry.record.client_id == "from-juzang") {
      found = true;
      EXPECT_EQ(entry.via, (Store::Source{"Juzang", 7}));
    }
  }
  EXPECT_TRUE(found);
}

TEST(DurableStoreTest, AfterACrashTheEpochStaysAndNumberingSkipsPastEveryNumberItMayHaveGiven) {
  TempDir dir;
  Store::FeedPosition position;
  {
    auto durable = OpenOrDie(dir.path(), 42, FsyncMode::kAlways);
    Store store(durable->epoch());
    ASSERT_TRUE(durable->LoadInto(&store).ok()) << durable->LoadInto(&store);
    durable->Start(&store, nullptr);
    ASSERT_EQ(store.Apply(MakeRecord("kiwi", "1"), {}, &position), Store::Outcome::kAccepted);
    ASSERT_TRUE(WaitDurable(durable.get(), position));
    // Closed without Stop()'s clean mark, as after a crash (the database
    // itself must be closed to reopen it in this process).
    durable->Stop();
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir.path(), &db).ok());
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), "m:clean").ok());
    delete db;
  }
  auto durable = OpenOrDie(dir.path(), 43);
  // The neighbours' resume points for this feed stay valid: same epoch...
  EXPECT_TRUE(durable->kept_epoch());
  EXPECT_FALSE(durable->clean_stop());
  EXPECT_EQ(durable->epoch(), 42u);
  Store store(durable->epoch());
  ASSERT_TRUE(durable->LoadInto(&store).ok()) << durable->LoadInto(&store);
  ASSERT_TRUE(store.Get("kiwi").has_value());
  // ...and numbers a record the crash may have taken with it (given, maybe
  // flooded, never written) are never given again.
  EXPECT_GE(store.End().seen[position.shard], position.seq + DurableStore::kCrashSequenceGap);
  Store::FeedPosition next;
  ASSERT_EQ(store.Apply(MakeRecord("kiwi", "2"), {}, &next), Store::Outcome::kAccepted);
  EXPECT_GT(next.seq, position.seq + DurableStore::kCrashSequenceGap);
}

TEST(DurableStoreTest, ACleanRestartNumbersOnFromTheLastRunsNumbering) {
  TempDir dir;
  Store::FeedPosition first, second;
  {
    auto durable = OpenOrDie(dir.path(), 42);
    Store store(durable->epoch());
    ASSERT_TRUE(durable->LoadInto(&store).ok());
    durable->Start(&store, nullptr);
    ASSERT_EQ(store.Apply(MakeRecord("kiwi", "1"), {}, &first), Store::Outcome::kAccepted);
    ASSERT_EQ(store.Apply(MakeRecord("kiwi", "2"), {}, &second), Store::Outcome::kAccepted);
    ASSERT_TRUE(WaitDurable(durable.get(), second));
    durable->Stop();
  }
  auto durable = OpenOrDie(dir.path(), 43);
  EXPECT_TRUE(durable->clean_stop());
  Store store(durable->epoch());
  ASSERT_TRUE(durable->LoadInto(&store).ok());
  Store::FeedPosition next;
  ASSERT_EQ(store.Apply(MakeRecord("kiwi", "3"), {}, &next), Store::Outcome::kAccepted);
  EXPECT_EQ(next.seq, second.seq + 1);
  EXPECT_LT(next.seq, DurableStore::kCrashSequenceGap);
}

TEST(DurableStoreTest, ARecordIsDurableOnlyAfterItIsApplied) {
  TempDir dir;
  auto durable = OpenOrDie(dir.path(), 1);
  Store store(durable->epoch());
  ASSERT_TRUE(durable->LoadInto(&store).ok()) << durable->LoadInto(&store);
  durable->Start(&store, nullptr);
  Store::Cursor ahead;
  ahead.seen[3] = 1;  // nothing numbered there yet
  EXPECT_FALSE(durable->mark()->Covers(ahead));
  durable->Stop();
}

TEST(DurableStoreTest, ADamagedDirectoryIsAnErrorNamingThePath) {
  TempDir dir;
  {
    auto durable = OpenOrDie(dir.path(), 1);
    durable->Stop();
  }
  std::ofstream(dir.path() + "/CURRENT", std::ios::trunc) << "garbage\n";
  absl::StatusOr<std::unique_ptr<DurableStore>> durable =
      DurableStore::Open(OptionsAt(dir.path()), 1);
  ASSERT_FALSE(durable.ok());
  EXPECT_NE(durable.status().message().find(dir.path()), std::string::npos) << durable.status();
}

TEST(DurableStoreTest, APathThatIsAFileIsAnErrorNamingIt) {
  TempDir dir;
  std::filesystem::create_directories(dir.path(""));
  std::ofstream(dir.path("file")) << "not a database\n";
  absl::StatusOr<std::unique_ptr<DurableStore>> durable =
      DurableStore::Open(OptionsAt(dir.path("file")), 1);
  ASSERT_FALSE(durable.ok());
  EXPECT_NE(durable.status().message().find(dir.path("file")), std::string::npos);
}

TEST(DurableStoreTest, AnotherFormatVersionIsNamed) {
  TempDir dir;
  {
    auto durable = OpenOrDie(dir.path(), 1);
    durable->Stop();
  }
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir.path(), &db).ok());
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "m:format", "2").ok());
  delete db;
  absl::StatusOr<std::unique_ptr<DurableStore>> durable =
      DurableStore::Open(OptionsAt(dir.path()), 1);
  ASSERT_FALSE(durable.ok());
  const std::string message(durable.status().message());
  EXPECT_NE(message.find(dir.path()), std::string::npos) << message;
  EXPECT_NE(message.find("format version 2"), std::string::npos) << message;
  EXPECT_NE(message.find("newer"), std::string::npos) << message;
}

TEST(DurableStoreTest, DataWithoutAFormatVersionIsDamaged) {
  TempDir dir;
  std::filesystem::create_directories(dir.path());
  rocksdb::DB* db = nullptr;
  rocksdb::Options options;
  options.create_if_missing = true;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir.path(), &db).ok());
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "r:kiwi", "x").ok());
  delete db;
  absl::StatusOr<std::unique_ptr<DurableStore>> durable =
      DurableStore::Open(OptionsAt(dir.path()), 1);
  ASSERT_FALSE(durable.ok());
  EXPECT_NE(durable.status().message().find(dir.path()), std::string::npos);
}

TEST(DurableStoreTest, FsyncModesParse) {
  EXPECT_EQ(ParseFsyncMode("always"), FsyncMode::kAlways);
  EXPECT_EQ(ParseFsyncMode("everysec"), FsyncMode::kEverySec);
  EXPECT_EQ(ParseFsyncMode("no"), FsyncMode::kNo);
  EXPECT_EQ(ParseFsyncMode("sometimes"), std::nullopt);
}

}  // namespace
}  // namespace herd
