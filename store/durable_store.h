#ifndef HERD_STORE_DURABLE_STORE_H_
#define HERD_STORE_DURABLE_STORE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "store/durable_mark.h"
#include "store/durable_table.h"
#include "store/store.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace herd {

// When the persister's writes reach the disk (config "fsync").
enum class FsyncMode {
  kAlways,    // each batch is fsynced before its replies go out
  kEverySec,  // the write-ahead log is fsynced once a second
  kNo,        // never fsynced by us: the kernel writes it back
};

// "always" | "everysec" | "no"; nothing for anything else.
std::optional<FsyncMode> ParseFsyncMode(std::string_view text);
const char* FsyncModeName(FsyncMode mode);

struct DurableOptions {
  std::string path;  // <data_dir>/<NAME>: one RocksDB database
  FsyncMode fsync = FsyncMode::kEverySec;
  // RocksDB's memory, bounded (config "rocksdb"): the block cache, and the
  // memtable size (at most two are held).
  size_t block_cache_bytes = size_t{8} << 20;
  size_t write_buffer_bytes = size_t{16} << 20;
};

// A server's records on disk (RocksDB at <data_dir>/<NAME>/), with what it
// needs to resume its links with a delta after a restart: its epoch, each
// record's feed sequence number, and the peers' resume points (opaque
// "state" entries the caller provides).
//
// The disk is one more reader of the store's feed: a persister thread
// follows the feed from where the load left it, writes what it reads in
// one RocksDB batch per round (so everything accepted while the last write
// or fsync ran goes in the next: group commit), and then advances mark():
// replies wait on the mark, never the other way round. A record is in the
// write-ahead log (the kernel's page cache) once the mark passes it, so it
// survives SIGKILL in every mode; with kAlways the write is also fsynced.
//
// The epoch is kept from run to run, and with it the feed's numbering:
// each write also stores, per shard, the highest sequence number it
// covers. After a clean Stop() the next start numbers on from there. After
// a crash, numbers past the last durable one may have been given to
// records that reached neighbours but not the disk, so the next start
// skips kCrashSequenceGap numbers in every shard: no number is ever given
// twice, and the neighbours' resume points stay points of this feed (a
// delta both ways after any restart).
//
// Beside the records, the database keeps any number of DurableTables (the
// fences): keyed opaque values, loaded by LoadTable and followed by the
// persister like the store's feed, each change written in the round after
// it (in the same atomic RocksDB batch as that round's last records and
// state), so they survive a clean stop and SIGKILL like the records.
//
// Thread-safe: Open, LoadInto, LoadTable, Start and Stop are called by one
// owner in that order; mark() and stats may be read from any thread.
class DurableStore {
 public:
  static constexpr int kFormatVersion = 1;
  // Numbers skipped per shard after a crash: far more than a server can
  // accept between two writes of its persister.
  static constexpr uint64_t kCrashSequenceGap = uint64_t{1} << 32;

  using State = std::map<std::string, std::string>;

  struct Stats {
    uint64_t records_loaded = 0;
    int64_t load_ms = 0;
    uint64_t records_written = 0;
    uint64_t batches_written = 0;
    uint64_t syncs = 0;
    uint64_t table_entries_loaded = 0;   // kept by the tables' load
    uint64_t table_entries_written = 0;  // since start (the loaded ones again, first)
  };

  // Opens (or creates) the database at options.path. The epoch is the
  // stored one, or `fresh_epoch` on a first start. A
  // path that cannot be opened, a damaged database or another on-disk
  // format is an error naming the path. A database another process holds
  // is waited for (up to 5 s: a stop still in progress) before it is one.
  static absl::StatusOr<std::unique_ptr<DurableStore>> Open(DurableOptions options,
                                                            uint64_t fresh_epoch);
  ~DurableStore();
  DurableStore(const DurableStore&) = delete;
  DurableStore& operator=(const DurableStore&) = delete;

  uint64_t epoch() const { return epoch_; }
  // Whether epoch() is the last run's (anything but a first start).
  bool kept_epoch() const { return kept_epoch_; }
  // Whether the last run stopped cleanly (false after a crash, and on a
  // first start).
  bool clean_stop() const { return clean_stop_; }
  // The state entries stored by the last run.
  const State& saved_state() const { return saved_state_; }
  const DurableOptions& options() const { return options_; }

  // Puts every stored record into `store` at its old sequence number.
  // REQUIRES: nothing applied to `store` yet; before Start().
  absl::Status LoadInto(Store* store);

  // Hands each stored entry of `table` to table.load (dropping those it
  // declines) and follows the table from Start() on. Its read_after cursor
  // starts at 0, so the first round writes the whole table again: meant for
  // small tables (the fences), whose loaded entries come back with new
  // numbers anyway. INVALID_ARGUMENT for a bad or repeated prefix;
  // DATA_LOSS, naming the path, if table.load fails.
  // REQUIRES: before Start().
  absl::Status LoadTable(DurableTable table);

  // Starts the persister on `store`'s feed, after what LoadInto put there.
  // `state` is called before each round, on the persister thread; entries
  // that changed are written with that round's records, atomically, and so
  // are the changes of the tables (LoadTable).
  void Start(Store* store, std::function<State()> state);

  // Writes what the feed still holds, fsyncs, notes a clean stop and
  // closes the database. Idempotent.
  void Stop();

  DurableMark* mark() { return &mark_; }
  Stats stats() const;

 private:
  // A table the persister follows.
  struct Table {
    DurableTable table;
    std::string key_prefix;  // "<prefix>:"
    uint64_t cursor = 0;     // persister thread only
    std::function<void()> unsubscribe;
  };

  struct Wakeup {
    std::atomic<bool> signalled{false};  // a signal is on its way
    absl::Mutex mu;
    absl::CondVar cv;
    bool pending ABSL_GUARDED_BY(mu) = false;
    bool stop ABSL_GUARDED_BY(mu) = false;
  };

  DurableStore(DurableOptions options, rocksdb::DB* db);
  absl::Status ReadMeta(uint64_t fresh_epoch);
  static void Signal(Wakeup* wakeup);
  // Whether `table` may be added; INVALID_ARGUMENT if not.
  absl::Status CheckTable(const DurableTable& table) const;
  void Run();
  // One round: state, then the feed to its end; returns records written.
  size_t WriteRound();
  // Puts every table's changes since the last round into `batch`, advancing
  // the tables' cursors; returns how many.
  size_t PutTableChanges(rocksdb::WriteBatch* batch);
  void Sync();

  // Constant after Open/Start.
  const DurableOptions options_;
  rocksdb::DB* db_;  // owned; null once stopped
  uint64_t epoch_ = 0;
  bool kept_epoch_ = false;
  bool clean_stop_ = false;
  // Per shard, the highest sequence number the last run wrote.
  std::array<uint64_t, Store::kShards> stored_sequences_{};
  State saved_state_;
  Store* store_ = nullptr;
  std::function<State()> state_fn_;
  std::vector<Table> tables_;
  int64_t listener_ = 0;

  const std::shared_ptr<Wakeup> wakeup_ = std::make_shared<Wakeup>();
  std::thread thread_;
  DurableMark mark_;

  // Persister thread only.
  Store::Cursor cursor_;
  State written_state_;
  bool unsynced_ = false;

  std::atomic<uint64_t> records_loaded_{0};
  std::atomic<int64_t> load_ms_{0};
  std::atomic<uint64_t> records_written_{0};
  std::atomic<uint64_t> batches_written_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> table_entries_loaded_{0};
  std::atomic<uint64_t> table_entries_written_{0};
};

}  // namespace herd

#endif  // HERD_STORE_DURABLE_STORE_H_
