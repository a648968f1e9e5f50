#include "api/watch_stream.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "api/location_codec.h"

namespace herd {
namespace {

// Feed entries read per store call while filling a message.
constexpr size_t kReadChunk = 32;

}  // namespace

WatchStream::WatchStream(const Store* store, std::shared_ptr<FeedPump> pump,
                         absl::flat_hash_set<std::string> client_ids, bool include_current,
                         const Options& options, std::shared_ptr<void> ticket)
    : PumpedWriteStream(std::move(pump), std::move(ticket)),
      store_(store),
      client_ids_(std::move(client_ids)),
      options_(options),
      start_(store->End()) {
  absl::MutexLock lock(&mu_);
  // From the beginning of the feed, the state as of start_ comes first.
  if (!include_current) cursor_ = start_;
}

bool WatchStream::FillLocked(v1::WatchResponse* message, bool* run_again) {
  size_t scanned = 0;
  size_t bytes = 0;
  bool drained = false;
  // Where each client is in this message: a client updated between two
  // reads is sent once, at its newer version (the older one is skipped).
  absl::flat_hash_map<std::string, int> position;
  while (static_cast<size_t>(message->locations_size()) < options_.max_batch_records &&
         bytes < options_.max_batch_bytes && scanned < options_.max_scan) {
    const Store::Cursor before = cursor_;
    // In small reads, so the byte bound is not overshot by much.
    const size_t room = std::min<size_t>(
        kReadChunk, options_.max_batch_records - static_cast<size_t>(message->locations_size()));
    std::vector<Store::FeedEntry> entries =
        store_->ReadAfter(&cursor_, std::min(room, options_.max_scan - scanned));
    if (entries.empty()) {
      drained = true;
      break;
    }
    scanned += entries.size();
    CountSkippedLocked(before, entries);
    for (const Store::FeedEntry& entry : entries) {
      const Record& record = entry.record;
      if (!client_ids_.empty() && !client_ids_.contains(record.client_id)) continue;
      const auto [it, added] = position.try_emplace(record.client_id, message->locations_size());
      if (!added) {
        ToLocation(record, message->mutable_locations(it->second));
        ++skipped_;
        continue;
      }
      ToLocation(record, message->add_locations());
      bytes += 2 * (record.client_id.size() + record.origin.size() + record.location.size() +
                    record.client_time.size()) +
               record.skew.size() + 40;
    }
  }
  if (!initial_state_done_ && ReachedStartLocked()) {
    initial_state_done_ = true;
    message->set_initial_state_done(true);
  }
  if (message->locations_size() == 0 && !message->initial_state_done()) {
    // Nothing to send. Filtered out entries may remain beyond the scan
    // limit: then run again soon rather than wait for the next change.
    *run_again = !drained && scanned >= options_.max_scan;
    return false;
  }
  message->set_skipped(skipped_);
  if (options_.skipped_total != nullptr) options_.skipped_total->Add(skipped_);
  skipped_ = 0;
  return true;
}

void WatchStream::CountSkippedLocked(const Store::Cursor& before,
                                     const std::vector<Store::FeedEntry>& entries) {
  std::array<uint64_t, Store::kShards> floor{};
  std::array<uint64_t, Store::kShards> read{};
  for (int s = 0; s < Store::kShards; ++s) floor[s] = std::max(before.seen[s], start_.seen[s]);
  for (const Store::FeedEntry& entry : entries) {
    if (entry.seq > floor[entry.shard]) ++read[entry.shard];
  }
  for (int s = 0; s < Store::kShards; ++s) {
    if (cursor_.seen[s] > floor[s]) skipped_ += cursor_.seen[s] - floor[s] - read[s];
  }
}

bool WatchStream::ReachedStartLocked() const {
  for (int s = 0; s < Store::kShards; ++s) {
    if (cursor_.seen[s] < start_.seen[s]) return false;
  }
  return true;
}

}  // namespace herd
