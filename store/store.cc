#include "store/store.h"

#include <utility>

#include "absl/hash/hash.h"
#include "common/strings.h"

namespace herd {

Store::Store(uint64_t epoch)
    : epoch_(epoch), listeners_(std::make_shared<const ListenerList>()) {}

Store::Shard& Store::ShardFor(std::string_view client_id) {
  return shards_[absl::Hash<absl::string_view>{}(AsAbsl(client_id)) % kShards];
}

const Store::Shard& Store::ShardFor(std::string_view client_id) const {
  return shards_[absl::Hash<absl::string_view>{}(AsAbsl(client_id)) % kShards];
}

Store::Outcome Store::Apply(const Record& record, const Source& via) {
  Shard& shard = ShardFor(record.client_id);
  {
    absl::MutexLock lock(&shard.mu);
    auto [it, inserted] = shard.by_client.try_emplace(record.client_id);
    Entry& entry = it->second;
    if (!inserted) {
      if (!Supersedes(record, entry.record)) return Outcome::kStale;
      shard.by_seq.erase(entry.seq);
    }
    entry.record = record;
    entry.via = via;
    entry.seq = ++shard.last_seq;
    shard.by_seq.emplace(entry.seq, &entry);
  }
  NotifyListeners();
  return Outcome::kAccepted;
}

std::optional<Record> Store::Get(std::string_view client_id) const {
  const Shard& shard = ShardFor(client_id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.by_client.find(AsAbsl(client_id));
  if (it == shard.by_client.end()) return std::nullopt;
  return it->second.record;
}

size_t Store::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total += shard.by_client.size();
  }
  return total;
}

std::vector<Store::FeedEntry> Store::ReadAfter(Cursor* cursor, size_t max,
                                               const Source& skip) const {
  std::vector<FeedEntry> out;
  for (int visited = 0; visited < kShards && out.size() < max; ++visited) {
    const int s = cursor->next_shard;
    const Shard& shard = shards_[s];
    {
      absl::MutexLock lock(&shard.mu);
      auto it = shard.by_seq.upper_bound(cursor->seen[s]);
      for (; it != shard.by_seq.end() && out.size() < max; ++it) {
        cursor->seen[s] = it->first;
        const Entry& entry = *it->second;
        if (!skip.name.empty() && entry.via == skip) continue;
        out.push_back(FeedEntry{entry.record, entry.via});
      }
      // Stay on this shard if `max` cut it short, so no shard starves.
      if (it != shard.by_seq.end()) break;
    }
    cursor->next_shard = (s + 1) % kShards;
  }
  return out;
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

void Store::NotifyListeners() {
  std::shared_ptr<const ListenerList> listeners;
  {
    absl::MutexLock lock(&listeners_mu_);
    listeners = listeners_;
  }
  for (const auto& [id, listener] : *listeners) (*listener)();
}

}  // namespace herd
