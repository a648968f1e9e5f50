#include "store/location_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <numbers>
#include <numeric>

namespace herd {
namespace {

constexpr uint32_t kRows = 18000;  // 180 / kCellDegrees
constexpr uint32_t kCols = 36000;  // 360 / kCellDegrees; kRows * kCols < 2^32
// Widens every bounding box so rounding in its computation never leaves out
// a point that the exact distance check would accept (1e-6 degrees ~ 0.1 m).
constexpr double kMarginDegrees = 1e-6;
// Feed entries read per store call while catching up.
constexpr size_t kCatchUpBatch = 1024;

uint32_t RowOf(double latitude) {
  const double row = std::floor((latitude + 90) / LocationIndex::kCellDegrees);
  return static_cast<uint32_t>(std::clamp(row, 0.0, double{kRows - 1}));
}

uint32_t ColOf(double longitude) {
  const double col = std::floor((longitude + 180) / LocationIndex::kCellDegrees);
  return static_cast<uint32_t>(std::clamp(col, 0.0, double{kCols - 1}));
}

uint32_t CellOf(double latitude, double longitude) {
  return RowOf(latitude) * kCols + ColOf(longitude);
}

}  // namespace

LocationIndex::LocationIndex(Store* store)
    : store_(store), tracks_moves_(store->ClaimMoveTracking()) {}

LocationIndex::~LocationIndex() = default;

bool LocationIndex::CatchUp(size_t max) {
  absl::MutexLock feed_lock(&feed_mu_);
  if (tracks_moves_) {
    // Before the feed: a client forgotten and then back is in the feed
    // after its forgetting. One back already is kept (the store has it).
    std::vector<std::string> forgotten = store_->TakeForgotten();
    std::vector<std::string> gone;
    for (std::string& id : forgotten) {
      if (!store_->Get(id)) gone.push_back(std::move(id));
    }
    if (!gone.empty()) {
      absl::MutexLock lock(&mu_);
      for (const std::string& id : gone) Remove(id);
    }
  }
  size_t applied = 0;
  while (applied < max) {
    // Read outside mu_ (queries go on while the store is read), and copy
    // only the two fields the index keeps.
    pending_text_.clear();
    pending_.clear();
    const auto copy = [this](const PackedRecord& record) {
      PackedRecord::Scratch scratch;
      const std::string_view location = record.Location(&scratch);
      pending_.push_back(Pending{pending_text_.size(), record.client_id().size(), location.size()});
      pending_text_.append(record.client_id());
      pending_text_.append(location);
    };
    const size_t batch = std::min(kCatchUpBatch, max - applied);
    const size_t read = tracks_moves_ ? store_->VisitMovedAfter(&cursor_, batch, copy)
                                      : store_->VisitAfter(&cursor_, batch, copy);
    if (read == 0) return true;
    applied += read;
    if (pending_.empty()) continue;  // nobody moved
    const std::string_view text = pending_text_;
    absl::MutexLock lock(&mu_);
    for (const Pending& entry : pending_) {
      Put(text.substr(entry.offset, entry.id_size),
          text.substr(entry.offset + entry.id_size, entry.location_size));
    }
  }
  return !store_->HasAfter(cursor_);
}

void LocationIndex::Put(std::string_view client_id, std::string_view location) {
  mu_.AssertHeld();
  double latitude, longitude;
  if (!ParseLocation(location, &latitude, &longitude)) return;  // never stored
  const uint32_t cell = CellOf(latitude, longitude);
  auto it = by_id_.find(client_id);
  if (it != by_id_.end()) {
    Item* item = *it;
    if (item->cell != cell) {
      by_cell_.erase(item);
      item->cell = cell;
      by_cell_.insert(item);
    }
    item->latitude = latitude;
    item->longitude = longitude;
    return;
  }
  const size_t id_size = std::min<size_t>(client_id.size(), UINT16_MAX);
  void* block = nullptr;
  if (auto free = free_items_.find(static_cast<uint16_t>(id_size));
      free != free_items_.end() && !free->second.empty()) {
    block = free->second.back();
    free->second.pop_back();
  } else {
    block = items_.Allocate(sizeof(Item) + id_size, alignof(Item));
  }
  Item* item = new (block) Item;
  item->latitude = latitude;
  item->longitude = longitude;
  item->cell = cell;
  item->id_size = static_cast<uint16_t>(id_size);
  std::memcpy(item->id_data, client_id.data(), id_size);
  by_id_.insert(item);
  by_cell_.insert(item);
}

void LocationIndex::Remove(std::string_view client_id) {
  auto it = by_id_.find(client_id);
  if (it == by_id_.end()) return;
  Item* item = *it;
  by_cell_.erase(item);
  by_id_.erase(it);
  free_items_[item->id_size].push_back(item);
}

void LocationIndex::Scan(uint32_t first, uint32_t last, double latitude, double longitude,
                         double radius_km, std::vector<const Item*>* items,
                         std::vector<double>* distances) const {
  for (auto it = by_cell_.lower_bound(first); it != by_cell_.end() && (*it)->cell <= last; ++it) {
    const Item* item = *it;
    const double d = HaversineKm(latitude, longitude, item->latitude, item->longitude);
    if (d <= radius_km) {
      items->push_back(item);
      distances->push_back(d);
    }
  }
}

LocationIndex::CircleResult LocationIndex::Within(double latitude, double longitude,
                                                  double radius_km, size_t max) const {
  CircleResult result;
  if (!(radius_km > 0) || !std::isfinite(radius_km) || !(latitude >= -90 && latitude <= 90) ||
      !std::isfinite(longitude)) {
    return result;
  }
  const CapBox box = BoundingBoxOfCap(latitude, longitude, radius_km, kMarginDegrees);
  const double lat_lo = box.lat_lo;
  const double lat_hi = box.lat_hi;
  // Column ranges: one, or two where the box crosses the ±180° meridian.
  std::vector<std::pair<uint32_t, uint32_t>> columns;
  if (box.every_longitude) {
    columns.emplace_back(0, kCols - 1);
  } else {
    const double lng_lo = box.lng_lo;
    const double lng_hi = box.lng_hi;
    if (lng_lo < -180) {
      columns.emplace_back(ColOf(lng_lo + 360), kCols - 1);
      columns.emplace_back(0, ColOf(lng_hi));
    } else if (lng_hi > 180) {
      columns.emplace_back(ColOf(lng_lo), kCols - 1);
      columns.emplace_back(0, ColOf(lng_hi - 360));
    } else {
      columns.emplace_back(ColOf(lng_lo), ColOf(lng_hi));
    }
  }

  absl::ReaderMutexLock lock(&mu_);
  std::vector<const Item*> items;
  std::vector<double> distances;
  for (uint32_t row = RowOf(lat_lo); row <= RowOf(lat_hi); ++row) {
    for (const auto& [first, last] : columns) {
      Scan(row * kCols + first, row * kCols + last, latitude, longitude, radius_km, &items,
           &distances);
    }
  }
  result.total = items.size();
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  const auto nearer = [&](size_t a, size_t b) {
    if (distances[a] != distances[b]) return distances[a] < distances[b];
    return items[a]->id() < items[b]->id();
  };
  const size_t keep = std::min(max, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
                    nearer);
  result.hits.reserve(keep);
  for (size_t i = 0; i < keep; ++i) {
    const Item* item = items[order[i]];
    result.hits.push_back(
        Hit{std::string(item->id()), item->latitude, item->longitude, distances[order[i]]});
  }
  return result;
}

std::vector<std::string> LocationIndex::IdsAfter(std::string_view after, size_t max) const {
  std::vector<std::string> ids;
  absl::ReaderMutexLock lock(&mu_);
  for (auto it = by_id_.upper_bound(after); it != by_id_.end() && ids.size() < max; ++it) {
    ids.emplace_back((*it)->id());
  }
  return ids;
}

size_t LocationIndex::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return by_id_.size();
}

}  // namespace herd
