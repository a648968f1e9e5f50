#include "api/fence_event_feed.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace herd {

FenceEventFeed::FenceEventFeed(Options options) : options_(options) {}

std::string FenceEventFeed::KeyOf(const v1::FenceEvent& event) {
  // Fence ids have no '\0' (letters, digits, "._:-"): the key is unambiguous.
  return absl::StrCat(event.fence_id(), std::string(1, '\0'),
                      event.location().record().client_id());
}

void FenceEventFeed::Publish(const std::vector<FiredEvent>& events) {
  if (events.empty()) return;
  // Copied before the lock: it is held for the maps' bookkeeping only.
  std::vector<Entry> entries;
  entries.reserve(events.size());
  for (const FiredEvent& fired : events) {
    entries.push_back(
        Entry{KeyOf(fired.event), std::make_shared<const v1::FenceEvent>(fired.event)});
  }
  {
    absl::MutexLock lock(&mu_);
    for (Entry& entry : entries) AddLocked(std::move(entry));
  }
  NotifyListeners();
}

void FenceEventFeed::AddLocked(Entry entry) {
  const uint64_t seq = ++last_seq_;
  const auto [held, added] = seq_of_key_.try_emplace(entry.key, seq);
  if (!added) {
    RemoveLocked(by_seq_.find(held->second));
    held->second = seq;
  }
  by_seq_.emplace(seq, std::move(entry));
  if (by_seq_.size() > std::max<size_t>(options_.max_entries, 1)) {
    const auto oldest = by_seq_.begin();
    seq_of_key_.erase(oldest->second.key);
    RemoveLocked(oldest);
  }
}

void FenceEventFeed::RemoveLocked(absl::btree_map<uint64_t, Entry>::iterator entry) {
  gaps_.emplace(entry->first, entry->second.event->fence_id());
  by_seq_.erase(entry);
  // Forgetting the oldest gap makes it count as skipped for every reader
  // still before it: an over-count, never a lost one.
  if (gaps_.size() > std::max<size_t>(options_.max_entries, 1)) gaps_.erase(gaps_.begin());
}

FenceEventFeed::Read FenceEventFeed::ReadAfter(uint64_t* cursor,
                                               const absl::flat_hash_set<std::string>& fence_ids,
                                               size_t max_events, size_t max_scan) const {
  Read read;
  const bool filtered = !fence_ids.empty();
  absl::MutexLock lock(&mu_);
  const uint64_t before = *cursor;
  // Held events and (for a filtered reader, which must not count other
  // fences' replaced events) gaps, merged in number order; both count
  // against max_scan, so the lock is held for bounded work.
  auto entry = by_seq_.upper_bound(before);
  auto gap = filtered ? gaps_.upper_bound(before) : gaps_.end();
  uint64_t entries_passed = 0;
  uint64_t foreign_gaps = 0;
  size_t looked = 0;
  for (; looked < max_scan && read.events.size() < max_events; ++looked) {
    const bool entry_left = entry != by_seq_.end();
    const bool gap_left = gap != gaps_.end();
    if (!entry_left && !gap_left) break;
    if (entry_left && (!gap_left || entry->first < gap->first)) {
      *cursor = entry->first;
      ++entries_passed;
      if (!filtered || fence_ids.contains(entry->second.event->fence_id())) {
        read.events.push_back(entry->second.event);
      }
      ++entry;
    } else {
      *cursor = gap->first;
      if (!fence_ids.contains(gap->second)) ++foreign_gaps;
      ++gap;
    }
  }
  // Nothing held beyond: the numbers up to the last one are passed too.
  if (entry == by_seq_.end() && gap == gaps_.end()) *cursor = std::max(*cursor, last_seq_);
  read.skipped = (*cursor - before) - entries_passed - foreign_gaps;
  return read;
}

uint64_t FenceEventFeed::last_seq() const {
  absl::MutexLock lock(&mu_);
  return last_seq_;
}

size_t FenceEventFeed::size() const {
  absl::MutexLock lock(&mu_);
  return by_seq_.size();
}

int64_t FenceEventFeed::AddListener(std::function<void()> listener) {
  absl::MutexLock lock(&listeners_mu_);
  const int64_t id = next_listener_id_++;
  listeners_.emplace_back(id, std::make_shared<std::function<void()>>(std::move(listener)));
  return id;
}

void FenceEventFeed::RemoveListener(int64_t id) {
  absl::MutexLock lock(&listeners_mu_);
  std::erase_if(listeners_, [id](const auto& listener) { return listener.first == id; });
}

void FenceEventFeed::NotifyListeners() {
  std::vector<std::shared_ptr<std::function<void()>>> listeners;
  {
    absl::MutexLock lock(&listeners_mu_);
    listeners.reserve(listeners_.size());
    for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
  }
  for (const auto& listener : listeners) (*listener)();
}

}  // namespace herd
