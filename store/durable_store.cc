#include "store/durable_store.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace herd {
namespace {

// Keys. Records: "r:" + client id. State entries: "s:" + the caller's key.
// Tables: "<prefix>:" + the table's key (DurableTable).
// Meta: the format version, the shard count (sequence numbers are per
// shard), the epoch, the highest sequence number written per shard, and a
// marker present only after a clean stop.
constexpr std::string_view kRecordPrefix = "r:";
constexpr std::string_view kStatePrefix = "s:";
constexpr char kFormatKey[] = "m:format";
constexpr char kShardsKey[] = "m:shards";
constexpr char kEpochKey[] = "m:epoch";
constexpr char kCleanKey[] = "m:clean";
constexpr char kSequencesKey[] = "m:sequences";

constexpr size_t kRecordsPerWrite = 8192;
constexpr size_t kTableEntriesPerRead = 256;
constexpr size_t kMaxTablePrefix = 16;
constexpr auto kLockWait = std::chrono::seconds(5);

rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  std::memcpy(buf, &v, 8);
  out->append(buf, 8);
}

bool GetFixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  std::memcpy(v, in->data(), 8);
  in->remove_prefix(8);
  return true;
}

void PutString(std::string* out, std::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  char buf[4];
  std::memcpy(buf, &n, 4);
  out->append(buf, 4);
  out->append(s);
}

bool GetString(std::string_view* in, std::string_view* s) {
  uint32_t n;
  if (in->size() < 4) return false;
  std::memcpy(&n, in->data(), 4);
  in->remove_prefix(4);
  if (in->size() < n) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

// A record's value: its sequence number, where it came from, and the fields
// other than the client id (the key).
std::string EncodeRecord(const Store::FeedEntry& entry) {
  std::string out;
  const Record& r = entry.record;
  out.reserve(40 + entry.via.name.size() + r.origin.size() + r.skew.size() + r.location.size() +
              r.client_time.size());
  PutFixed64(&out, entry.seq);
  PutFixed64(&out, entry.via.epoch);
  for (std::string_view s :
       {std::string_view(entry.via.name), std::string_view(r.origin), std::string_view(r.skew),
        std::string_view(r.location), std::string_view(r.client_time)}) {
    PutString(&out, s);
  }
  return out;
}

struct DecodedRecord {
  uint64_t seq = 0;
  Store::Source via;
  RecordView view;
};

bool DecodeRecord(std::string_view client_id, std::string_view value, DecodedRecord* out) {
  std::string_view name;
  out->view.client_id = client_id;
  return GetFixed64(&value, &out->seq) && GetFixed64(&value, &out->via.epoch) &&
         GetString(&value, &name) && GetString(&value, &out->view.origin) &&
         GetString(&value, &out->view.skew) && GetString(&value, &out->view.location) &&
         GetString(&value, &out->view.client_time) && value.empty() &&
         (out->via.name = std::string(name), true);
}

absl::Status Damaged(const std::string& path, std::string_view what) {
  return absl::DataLossError(path + ": " + std::string(what));
}

rocksdb::Options RocksOptions(const DurableOptions& options) {
  rocksdb::Options rocks;
  rocks.create_if_missing = true;
  rocks.paranoid_checks = true;
  rocks.max_background_jobs = 2;
  rocks.max_open_files = 256;
  rocks.write_buffer_size = options.write_buffer_bytes;
  rocks.max_write_buffer_number = 2;
  rocks.keep_log_file_num = 2;
  // Off while the store loads (Start turns them on): a compaction
  // started at open would take a core from the load.
  rocks.disable_auto_compactions = true;
  rocks.recycle_log_file_num = 0;
  // The persister is the only writer and nothing reads the memtable while
  // serving: a vector memtable appends (sorted once, at flush) instead of
  // a skip-list insert per record.
  rocks.memtable_factory.reset(new rocksdb::VectorRepFactory);
  rocks.allow_concurrent_memtable_write = false;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.cache_index_and_filter_blocks = true;  // inside the bound, not beside it
  rocks.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return rocks;
}

// Whether a stored format version is newer or older than ours.
const char* FormatAge(const std::string& format) {
  int64_t version = 0;
  if (!absl::SimpleAtoi(format, &version)) return "unknown";
  return version > DurableStore::kFormatVersion ? "newer" : "older";
}

}  // namespace

std::optional<FsyncMode> ParseFsyncMode(std::string_view text) {
  if (text == "always") return FsyncMode::kAlways;
  if (text == "everysec") return FsyncMode::kEverySec;
  if (text == "no") return FsyncMode::kNo;
  return std::nullopt;
}

const char* FsyncModeName(FsyncMode mode) {
  switch (mode) {
    case FsyncMode::kAlways:
      return "always";
    case FsyncMode::kEverySec:
      return "everysec";
    case FsyncMode::kNo:
      return "no";
  }
  return "?";
}

DurableStore::DurableStore(DurableOptions options, rocksdb::DB* db)
    : options_(std::move(options)), db_(db) {}

DurableStore::~DurableStore() { Stop(); }

absl::StatusOr<std::unique_ptr<DurableStore>> DurableStore::Open(DurableOptions options,
                                                                 uint64_t fresh_epoch) {
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(RocksOptions(options), options.path, &db);
  // A restart right after a stop (kill, sleep 0.3, serve) can find the old
  // process still closing the database: wait for its lock, as for ports.
  const auto deadline = std::chrono::steady_clock::now() + kLockWait;
  while (s.IsIOError() && s.ToString().find("lock") != std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s = rocksdb::DB::Open(RocksOptions(options), options.path, &db);
  }
  if (!s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.path, ": cannot open the data directory: ", s.ToString()));
  }
  std::unique_ptr<DurableStore> durable(new DurableStore(std::move(options), db));
  if (absl::Status status = durable->ReadMeta(fresh_epoch); !status.ok()) return status;
  return durable;
}

absl::Status DurableStore::ReadMeta(uint64_t fresh_epoch) {
  const std::string& path = options_.path;
  std::string format, shards, epoch, clean;
  const rocksdb::ReadOptions read;
  rocksdb::Status s = db_->Get(read, kFormatKey, &format);
  if (s.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
    it->SeekToFirst();
    if (it->Valid()) return Damaged(path, "holds data but no format version (damaged?)");
    if (!it->status().ok()) return Damaged(path, it->status().ToString());
    format = std::to_string(kFormatVersion);
    shards = std::to_string(Store::kShards);
    rocksdb::WriteBatch batch;
    batch.Put(kFormatKey, format);
    batch.Put(kShardsKey, shards);
    rocksdb::WriteOptions sync;
    sync.sync = true;
    if (s = db_->Write(sync, &batch); !s.ok()) return Damaged(path, s.ToString());
  } else if (!s.ok()) {
    return Damaged(path, s.ToString());
  }
  if (format != std::to_string(kFormatVersion)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": on-disk format version ", format, ", but this herd reads version ", kFormatVersion,
        " (", FormatAge(format), "); move the directory away or use the matching herd"));
  }
  if (s = db_->Get(read, kShardsKey, &shards);
      !s.ok() || shards != std::to_string(Store::kShards)) {
    return Damaged(
        path, absl::StrCat("stored for ", shards, " store shards, this herd has ", Store::kShards));
  }
  s = db_->Get(read, kEpochKey, &epoch);
  const bool has_epoch = s.ok() && epoch.size() == 8;
  s = db_->Get(read, kCleanKey, &clean);
  clean_stop_ = has_epoch && s.ok();
  kept_epoch_ = has_epoch;
  if (std::string sequences; db_->Get(read, kSequencesKey, &sequences).ok()) {
    std::string_view in = sequences;
    for (uint64_t& seq : stored_sequences_) {
      if (!GetFixed64(&in, &seq)) return Damaged(path, "the stored sequence numbers are cut short");
    }
  }
  if (kept_epoch_) {
    std::memcpy(&epoch_, epoch.data(), 8);
  } else {
    epoch_ = fresh_epoch;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  for (it->Seek(AsSlice(kStatePrefix)); it->Valid() && it->key().starts_with(AsSlice(kStatePrefix));
       it->Next()) {
    std::string key = it->key().ToString().substr(kStatePrefix.size());
    saved_state_[key] = it->value().ToString();
  }
  if (!it->status().ok()) return Damaged(path, it->status().ToString());
  written_state_ = saved_state_;
  // From now until a clean stop, the next start counts as after a crash.
  rocksdb::WriteBatch batch;
  std::string epoch_bytes;
  PutFixed64(&epoch_bytes, epoch_);
  batch.Put(kEpochKey, epoch_bytes);
  batch.Delete(kCleanKey);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  if (s = db_->Write(sync, &batch); !s.ok()) return Damaged(path, s.ToString());
  return absl::OkStatus();
}

absl::Status DurableStore::LoadInto(Store* store) {
  const auto start = std::chrono::steady_clock::now();
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  read.readahead_size = size_t{2} << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  rocksdb::WriteBatch forget;  // expired records: no longer anyone's
  uint64_t loaded = 0;
  DecodedRecord record;
  for (it->Seek(AsSlice(kRecordPrefix));
       it->Valid() && it->key().starts_with(AsSlice(kRecordPrefix)); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    const std::string_view client_id = key.substr(kRecordPrefix.size());
    if (!DecodeRecord(client_id, std::string_view(it->value().data(), it->value().size()),
                      &record) ||
        !IsWellFormedClientTime(record.view.client_time) || !IsWellFormedSkew(record.view.skew)) {
      return Damaged(options_.path,
                     absl::StrCat("a malformed record (key of ", key.size(), " bytes): damaged?"));
    }
    const Store::Outcome outcome = store->Restore(record.view, record.via, record.seq);
    if (outcome == Store::Outcome::kExpired) forget.Delete(it->key());
    if (outcome == Store::Outcome::kAccepted) ++loaded;
  }
  if (!it->status().ok()) return Damaged(options_.path, it->status().ToString());
  if (forget.Count() > 0) db_->Write(rocksdb::WriteOptions(), &forget);
  // Number on from the last run's highest number (a record it numbered
  // last may be gone: superseded, or expired just now), and after a crash
  // past every number it may have given without writing.
  std::array<uint64_t, Store::kShards> floor = stored_sequences_;
  if (!clean_stop_) {
    for (uint64_t& seq : floor) seq += kCrashSequenceGap;
  }
  if (kept_epoch_) store->NumberAfter(floor);
  records_loaded_ = loaded;
  load_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - start)
                 .count();
  return absl::OkStatus();
}

absl::Status DurableStore::CheckTable(const DurableTable& table) const {
  const std::string& prefix = table.prefix;
  if (prefix.empty() || prefix.size() > kMaxTablePrefix ||
      !std::all_of(prefix.begin(), prefix.end(), [](char c) { return absl::ascii_isalnum(c); }) ||
      prefix == "r" || prefix == "s" || prefix == "m") {
    return absl::InvalidArgumentError(absl::StrCat(
        "table prefix \"", prefix, "\": must be 1-16 letters and digits, not r, s or m"));
  }
  if (!table.read_after || !table.load) {
    return absl::InvalidArgumentError(
        absl::StrCat("table \"", prefix, "\": read_after and load are required"));
  }
  for (const Table& held : tables_) {
    if (held.table.prefix == prefix) {
      return absl::InvalidArgumentError(absl::StrCat("table \"", prefix, "\": added twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status DurableStore::LoadTable(DurableTable table) {
  if (absl::Status checked = CheckTable(table); !checked.ok()) return checked;
  const std::string key_prefix = table.prefix + ":";
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  rocksdb::WriteBatch forget;  // entries the table no longer wants
  uint64_t loaded = 0;
  for (it->Seek(AsSlice(key_prefix)); it->Valid() && it->key().starts_with(AsSlice(key_prefix));
       it->Next()) {
    const std::string_view key =
        std::string_view(it->key().data(), it->key().size()).substr(key_prefix.size());
    absl::StatusOr<bool> keep =
        table.load(key, std::string_view(it->value().data(), it->value().size()));
    if (!keep.ok()) {
      return Damaged(options_.path,
                     absl::StrCat("table \"", table.prefix, "\": ", keep.status().message()));
    }
    if (*keep) {
      ++loaded;
    } else {
      forget.Delete(it->key());
    }
  }
  if (!it->status().ok()) return Damaged(options_.path, it->status().ToString());
  if (forget.Count() > 0) db_->Write(rocksdb::WriteOptions(), &forget);
  table_entries_loaded_.fetch_add(loaded, std::memory_order_relaxed);
  Table& added = tables_.emplace_back();
  added.table = std::move(table);
  added.key_prefix = key_prefix;
  return absl::OkStatus();
}

void DurableStore::Signal(Wakeup* wakeup) {
  // One signal per round, however many changes arrive meanwhile.
  if (wakeup->signalled.exchange(true, std::memory_order_acq_rel)) return;
  absl::MutexLock lock(&wakeup->mu);
  if (!wakeup->pending) {
    wakeup->pending = true;
    wakeup->cv.Signal();
  }
}

void DurableStore::Start(Store* store, std::function<State()> state) {
  store_ = store;
  state_fn_ = std::move(state);
  db_->SetOptions({{"disable_auto_compactions", "false"}});
  cursor_ = store->End();  // the loaded records are on disk already
  mark_.Advance(cursor_);
  listener_ = store->AddListener([wakeup = wakeup_] { Signal(wakeup.get()); });
  for (Table& table : tables_) {
    if (table.table.subscribe) {
      table.unsubscribe = table.table.subscribe([wakeup = wakeup_] { Signal(wakeup.get()); });
    }
  }
  thread_ = std::thread([this] { Run(); });
}

void DurableStore::Run() {
  auto last_sync = std::chrono::steady_clock::now();
  for (;;) {
    bool stopping;
    {
      absl::MutexLock lock(&wakeup_->mu);
      // everysec: wake at least once a second to fsync what was written.
      while (!wakeup_->pending && !wakeup_->stop) {
        if (wakeup_->cv.WaitWithTimeout(&wakeup_->mu, absl::Seconds(1))) break;
      }
      wakeup_->pending = false;
      stopping = wakeup_->stop;
    }
    wakeup_->signalled.store(false, std::memory_order_release);
    WriteRound();
    const auto now = std::chrono::steady_clock::now();
    if (options_.fsync == FsyncMode::kEverySec && unsynced_ &&
        now - last_sync >= std::chrono::seconds(1)) {
      Sync();
      last_sync = now;
    }
    if (stopping) return;
  }
}

size_t DurableStore::WriteRound() {
  // The state first, then the feed's end: every record the state speaks of
  // (a peer's batch applied before its resume point was noted) is before
  // that end, so it is written in this round, with the state.
  State state = state_fn_ ? state_fn_() : State{};
  const Store::Cursor end = store_->End();
  rocksdb::WriteOptions write;
  write.sync = options_.fsync == FsyncMode::kAlways;
  size_t total = 0;
  for (;;) {
    const Store::Cursor before = cursor_;
    rocksdb::WriteBatch batch;
    std::vector<Store::FeedEntry> entries;
    size_t in_batch = 0;
    do {
      entries = store_->ReadAfter(&cursor_, 1024);
      for (const Store::FeedEntry& entry : entries) {
        const std::string key = std::string(kRecordPrefix) + entry.record.client_id;
        batch.Put(key, EncodeRecord(entry));
      }
      in_batch += entries.size();
    } while (!entries.empty() && in_batch < kRecordsPerWrite);
    const bool last = entries.empty();
    if (last) {
      for (int s = 0; s < Store::kShards; ++s) {
        if (end.seen[s] > cursor_.seen[s]) cursor_.seen[s] = end.seen[s];
      }
    }
    State changed;
    std::vector<uint64_t> table_cursors;
    size_t table_entries = 0;
    if (last) {
      for (const Table& table : tables_) table_cursors.push_back(table.cursor);
      table_entries = PutTableChanges(&batch);
      for (auto& [key, value] : state) {
        auto it = written_state_.find(key);
        if (it != written_state_.end() && it->second == value) continue;
        batch.Put(std::string(kStatePrefix) + key, value);
        changed[key] = value;
      }
    }
    if (batch.Count() > 0) {
      std::string sequences;
      for (uint64_t seq : cursor_.seen) PutFixed64(&sequences, seq);
      batch.Put(kSequencesKey, sequences);
      const rocksdb::Status s = db_->Write(write, &batch);
      if (!s.ok()) {
        // The disk failed: these entries are read again next round (a
        // second later at the latest); their replies stay held meanwhile,
        // since a reply promises durability.
        cursor_ = before;
        for (size_t t = 0; t < table_cursors.size(); ++t) tables_[t].cursor = table_cursors[t];
        return total;
      }
      batches_written_.fetch_add(1, std::memory_order_relaxed);
      if (write.sync) syncs_.fetch_add(1, std::memory_order_relaxed);
      unsynced_ = !write.sync;
    }
    for (auto& [key, value] : changed) written_state_[key] = std::move(value);
    total += in_batch;
    records_written_.fetch_add(in_batch, std::memory_order_relaxed);
    table_entries_written_.fetch_add(table_entries, std::memory_order_relaxed);
    mark_.Advance(cursor_);
    if (last) return total;
  }
}

size_t DurableStore::PutTableChanges(rocksdb::WriteBatch* batch) {
  size_t count = 0;
  for (Table& table : tables_) {
    for (;;) {
      const std::vector<DurableTable::Entry> entries =
          table.table.read_after(&table.cursor, kTableEntriesPerRead);
      if (entries.empty()) break;
      for (const auto& [key, value] : entries) batch->Put(table.key_prefix + key, value);
      count += entries.size();
    }
  }
  return count;
}

void DurableStore::Sync() {
  if (db_->SyncWAL().ok()) syncs_.fetch_add(1, std::memory_order_relaxed);
  unsynced_ = false;
}

void DurableStore::Stop() {
  if (db_ == nullptr) return;
  if (thread_.joinable()) {
    store_->RemoveListener(listener_);
    for (Table& table : tables_) {
      if (table.unsubscribe) table.unsubscribe();
    }
    {
      absl::MutexLock lock(&wakeup_->mu);
      wakeup_->stop = true;
      wakeup_->cv.Signal();
    }
    thread_.join();
    if (unsynced_) Sync();
    db_->Flush(rocksdb::FlushOptions());  // the next start need not replay the log
    rocksdb::WriteOptions sync;
    sync.sync = true;
    db_->Put(sync, kCleanKey, "1");
  }
  delete db_;
  db_ = nullptr;
}

DurableStore::Stats DurableStore::stats() const {
  Stats out;
  out.records_loaded = records_loaded_.load();
  out.load_ms = load_ms_.load();
  out.records_written = records_written_.load();
  out.batches_written = batches_written_.load();
  out.syncs = syncs_.load();
  out.table_entries_loaded = table_entries_loaded_.load();
  out.table_entries_written = table_entries_written_.load();
  return out;
}

}  // namespace herd
