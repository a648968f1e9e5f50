#include "store/store.h"

#include <malloc.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "absl/base/macros.h"
#include "absl/hash/hash.h"
#include "common/strings.h"

namespace herd {
namespace {

// REQUIRES: the shard's lock (the only writer), so no atomic add is needed.
template <typename Shard>
void AddRecordBytes(Shard* shard, int64_t delta) {
  shard->mu.AssertHeld();
  shard->record_bytes.store(shard->record_bytes.load(std::memory_order_relaxed) + delta,
                            std::memory_order_relaxed);
}

// The store a Store::NotifyOnce on this thread holds back notices for, and
// whether it has one to give.
thread_local const Store* notify_once_store = nullptr;
thread_local bool notify_once_pending = false;

}  // namespace

Store::Store(uint64_t epoch, Limits limits)
    : epoch_(epoch),
      limits_(std::move(limits)),
      sources_{Source{}},
      listeners_(std::make_shared<const ListenerList>()) {}

size_t Store::SlotHash::operator()(std::string_view client_id) const {
  return absl::Hash<absl::string_view>{}(AsAbsl(client_id));
}

uint32_t Store::InternSource(const Source& source) {
  if (source.name.empty()) return 0;
  if (std::optional<uint32_t> id = FindSource(source)) return *id;
  absl::MutexLock lock(&sources_mu_);
  auto& epochs = source_ids_[source.name];
  for (const auto& [epoch, id] : epochs) {
    if (epoch == source.epoch) return id;
  }
  const uint32_t id = static_cast<uint32_t>(sources_.size());
  sources_.push_back(source);
  epochs.emplace_back(source.epoch, id);
  return id;
}

std::optional<uint32_t> Store::FindSource(const Source& source) const {
  if (source.name.empty()) return 0;
  absl::ReaderMutexLock lock(&sources_mu_);
  auto it = source_ids_.find(source.name);
  if (it == source_ids_.end()) return std::nullopt;
  for (const auto& [epoch, id] : it->second) {
    if (epoch == source.epoch) return id;
  }
  return std::nullopt;
}

Store::Source Store::SourceOf(uint32_t id) const {
  absl::ReaderMutexLock lock(&sources_mu_);
  return sources_[id];
}

int Store::ShardOf(std::string_view client_id) {
  // FNV-1a: absl::Hash is seeded per process, and a client's shard must not
  // change across a restart.
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : client_id) hash = (hash ^ c) * 1099511628211ull;
  return static_cast<int>((hash ^ (hash >> 32)) % kShards);
}

Store::Shard& Store::ShardFor(std::string_view client_id) { return shards_[ShardOf(client_id)]; }

const Store::Shard& Store::ShardFor(std::string_view client_id) const {
  return shards_[ShardOf(client_id)];
}

bool Store::ExpiredAt(std::string_view client_time, std::string_view skew, int64_t now) const {
  return static_cast<__int128>(OriginReceiveNs(client_time, skew)) + limits_.client_ttl_ns <= now;
}

int64_t Store::record_bytes() const {
  int64_t total = 0;
  for (const Shard& shard : shards_) total += shard.record_bytes.load(std::memory_order_relaxed);
  return total;
}

void Store::NumberAfter(const std::array<uint64_t, kShards>& floor) {
  for (int s = 0; s < kShards; ++s) {
    absl::MutexLock lock(&shards_[s].mu);
    shards_[s].last_seq = std::max(shards_[s].last_seq, floor[s]);
  }
}

Store::Outcome Store::Restore(const RecordView& record, const Source& via, uint64_t seq) {
  if (limits_.client_ttl_ns > 0 && ExpiredAt(record.client_time, record.skew, limits_.now())) {
    return Outcome::kExpired;
  }
  const uint32_t source = InternSource(via);
  Shard& shard = ShardFor(record.client_id);
  absl::MutexLock lock(&shard.mu);
  if (shard.by_client.contains(record.client_id)) return Outcome::kStale;
  if (limits_.max_clients > 0 && clients_.fetch_add(1) >= limits_.max_clients) {
    clients_.fetch_sub(1);
    return Outcome::kRefused;
  }
  auto packed = PackedRecord::Make(record, source, seq);
  AddRecordBytes(&shard, static_cast<int64_t>(malloc_usable_size(packed.get())));
  packed->set_moved(true);
  shard.by_seq.insert(packed.get());
  shard.by_client.insert(Slot{std::move(packed)});
  if (seq > shard.last_seq) shard.last_seq = seq;
  return Outcome::kAccepted;
}

Store::Outcome Store::Apply(const RecordView& record, const Source& via, FeedPosition* accepted_at,
                            std::optional<Record>* replaced) {
  ABSL_ASSERT(IsWellFormedClientTime(record.client_time));
  if (limits_.client_ttl_ns > 0 && ExpiredAt(record.client_time, record.skew, limits_.now())) {
    expired_total_.fetch_add(1, std::memory_order_relaxed);
    return Outcome::kExpired;
  }
  const uint32_t source = InternSource(via);
  Shard& shard = ShardFor(record.client_id);
  {
    absl::MutexLock lock(&shard.mu);
    auto it = shard.by_client.find(record.client_id);
    if (it != shard.by_client.end()) {
      const PackedRecord& current = *it->record;
      if (!Supersedes(record, current)) return Outcome::kStale;
      if (replaced != nullptr) *replaced = current.ToRecord();
      const bool was_moved = current.moved();
      // Out of the feed while it changes (its sequence number is the key);
      // should memory run out, it stays as it was, out of the feed until
      // the client's next report.
      shard.by_seq.erase(&current);
      const size_t bytes_before = malloc_usable_size(it->record.get());
      bool location_changed;
      PackedRecord::Assign(record, source, shard.last_seq + 1, &it->record, &location_changed);
      AddRecordBytes(&shard, static_cast<int64_t>(malloc_usable_size(it->record.get())) -
                                 static_cast<int64_t>(bytes_before));
      ++shard.last_seq;
      it->record->set_moved(was_moved || location_changed);
      shard.by_seq.insert(shard.by_seq.end(), it->record.get());  // the newest: last
    } else {
      if (limits_.max_clients > 0 && clients_.fetch_add(1) >= limits_.max_clients) {
        clients_.fetch_sub(1);
        refused_total_.fetch_add(1, std::memory_order_relaxed);
        return Outcome::kRefused;
      }
      if (replaced != nullptr) replaced->reset();
      auto packed = PackedRecord::Make(record, source, ++shard.last_seq);
      AddRecordBytes(&shard, static_cast<int64_t>(malloc_usable_size(packed.get())));
      packed->set_moved(true);
      shard.by_seq.insert(shard.by_seq.end(), packed.get());
      shard.by_client.insert(Slot{std::move(packed)});
    }
    if (accepted_at != nullptr) *accepted_at = FeedPosition{ShardIndex(shard), shard.last_seq};
  }
  if (notify_once_store == this) {
    notify_once_pending = true;
  } else {
    NotifyListeners();
  }
  return Outcome::kAccepted;
}

std::optional<Record> Store::Get(std::string_view client_id) const {
  const Shard& shard = ShardFor(client_id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.by_client.find(client_id);
  if (it == shard.by_client.end()) return std::nullopt;
  Record record = it->record->ToRecord();
  if (limits_.client_ttl_ns > 0 && ExpiredAt(record.client_time, record.skew, limits_.now())) {
    return std::nullopt;  // forgotten at the next sweep
  }
  return record;
}

size_t Store::ForgetExpired() {
  if (limits_.client_ttl_ns <= 0) return 0;
  const int64_t now = limits_.now();
  const bool keep_ids = move_tracking_claimed_.load();
  size_t forgotten = 0;
  std::vector<std::string> ids;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.by_client.begin(); it != shard.by_client.end();) {
      PackedRecord::Scratch scratch;
      const RecordView view = it->record->View(&scratch);
      if (!ExpiredAt(view.client_time, view.skew, now)) {
        ++it;
        continue;
      }
      if (keep_ids) ids.emplace_back(view.client_id);
      AddRecordBytes(&shard, -static_cast<int64_t>(malloc_usable_size(it->record.get())));
      shard.by_seq.erase(it->record.get());
      shard.by_client.erase(it++);
      ++forgotten;
    }
  }
  if (limits_.max_clients > 0) clients_.fetch_sub(forgotten);
  if (!ids.empty()) {
    absl::MutexLock lock(&forgotten_mu_);
    for (std::string& id : ids) forgotten_.push_back(std::move(id));
  }
  if (forgotten > 0) NotifyListeners();  // the index catches up on what went
  return forgotten;
}

std::vector<std::string> Store::TakeForgotten() {
  absl::MutexLock lock(&forgotten_mu_);
  std::vector<std::string> out;
  out.swap(forgotten_);
  return out;
}

size_t Store::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total += shard.by_client.size();
  }
  return total;
}

template <typename Visit>
size_t Store::WalkAfter(Cursor* cursor, size_t max, std::optional<uint32_t> skip_id,
                        Visit visit) const {
  size_t visited = 0;
  // Skipped entries count towards a visit budget too, so one call stays
  // short even when a neighbour's own records fill the feed.
  size_t budget = 4 * max;
  for (int shards = 0; shards < kShards && visited < max && budget > 0; ++shards) {
    const int s = cursor->next_shard;
    const Shard& shard = shards_[s];
    {
      absl::MutexLock lock(&shard.mu);
      auto it = shard.by_seq.upper_bound(cursor->seen[s]);
      for (; it != shard.by_seq.end() && visited < max && budget > 0; ++it, --budget) {
        const PackedRecord& record = **it;
        cursor->seen[s] = record.seq();
        if (skip_id && record.source() == *skip_id) continue;
        visit(record, s);
        ++visited;
      }
      // Stay on this shard if `max` or the budget cut it short, so no
      // shard starves.
      if (it != shard.by_seq.end()) break;
      // The shard is read to its end: numbers past its last entry (a record
      // that expired, numbers a restart skipped) are passed too, or a
      // reader would take HasAfter's word and look again forever.
      cursor->seen[s] = std::max(cursor->seen[s], shard.last_seq);
    }
    cursor->next_shard = (s + 1) % kShards;
  }
  return visited;
}

std::optional<uint32_t> Store::SkipIdOf(const Source& skip) const {
  // A source never seen has sent nothing to skip.
  return skip.name.empty() ? std::nullopt : FindSource(skip);
}

std::vector<Store::FeedEntry> Store::ReadAfter(Cursor* cursor, size_t max,
                                               const Source& skip) const {
  std::vector<FeedEntry> out;
  WalkAfter(cursor, max, SkipIdOf(skip), [&](const PackedRecord& record, int shard) {
    out.push_back(FeedEntry{record.ToRecord(), Source{}, shard, record.seq()});
    if (record.source() != 0) out.back().via = SourceOf(record.source());
  });
  return out;
}

size_t Store::VisitAfter(Cursor* cursor, size_t max, const Source& skip,
                         absl::FunctionRef<void(const PackedRecord& record)> visit) const {
  return WalkAfter(cursor, max, SkipIdOf(skip),
                   [&](const PackedRecord& record, int) { visit(record); });
}

bool Store::ClaimMoveTracking() { return !move_tracking_claimed_.exchange(true); }

size_t Store::VisitMovedAfter(Cursor* cursor, size_t max,
                              absl::FunctionRef<void(const PackedRecord& record)> visit) {
  ABSL_ASSERT(move_tracking_claimed_.load());
  size_t walked = 0;
  WalkAfter(cursor, max, std::nullopt, [&](const PackedRecord& record, int) {
    ++walked;
    if (!record.moved()) return;
    visit(record);
    record.set_moved(false);  // under the shard's lock; kept if visit threw
  });
  return walked;
}

bool Store::HasAfter(const Cursor& cursor) const {
  for (int s = 0; s < kShards; ++s) {
    const Shard& shard = shards_[s];
    absl::MutexLock lock(&shard.mu);
    if (shard.last_seq > cursor.seen[s]) return true;
  }
  return false;
}

size_t Store::CountAfter(const Cursor& cursor, size_t limit) const {
  size_t count = 0;
  for (int s = 0; s < kShards && count < limit; ++s) {
    const Shard& shard = shards_[s];
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.by_seq.upper_bound(cursor.seen[s]);
         it != shard.by_seq.end() && count < limit; ++it) {
      ++count;
    }
  }
  return count;
}

Store::Cursor Store::End() const {
  Cursor end;
  for (int s = 0; s < kShards; ++s) {
    const Shard& shard = shards_[s];
    absl::MutexLock lock(&shard.mu);
    end.seen[s] = shard.last_seq;
  }
  return end;
}

bool Store::Reached(const Cursor& cursor) const {
  const Cursor end = End();
  for (int s = 0; s < kShards; ++s) {
    if (cursor.seen[s] > end.seen[s]) return false;
  }
  return true;
}

int64_t Store::AddListener(Listener listener) {
  absl::MutexLock lock(&listeners_mu_);
  auto next = std::make_shared<ListenerList>(*listeners_);
  const int64_t id = next_listener_id_++;
  next->emplace_back(id, std::make_shared<Listener>(std::move(listener)));
  listeners_ = std::move(next);
  return id;
}

void Store::RemoveListener(int64_t id) {
  absl::MutexLock lock(&listeners_mu_);
  auto next = std::make_shared<ListenerList>();
  for (const auto& entry : *listeners_) {
    if (entry.first != id) next->push_back(entry);
  }
  listeners_ = std::move(next);
}

Store::NotifyOnce::NotifyOnce(Store* store) : store_(store) {
  assert(notify_once_store == nullptr);
  notify_once_store = store;
  notify_once_pending = false;
}

Store::NotifyOnce::~NotifyOnce() {
  notify_once_store = nullptr;
  if (notify_once_pending) store_->NotifyListeners();
  notify_once_pending = false;
}

void Store::NotifyListeners() {
  std::shared_ptr<const ListenerList> listeners;
  {
    absl::MutexLock lock(&listeners_mu_);
    listeners = listeners_;
  }
  for (const auto& [id, listener] : *listeners) (*listener)();
}

}  // namespace herd
