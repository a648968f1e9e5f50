#ifndef HERD_STORE_LOCATION_INDEX_H_
#define HERD_STORE_LOCATION_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/geo.h"
#include "store/block_arena.h"
#include "store/store.h"

namespace herd {

// A secondary index over a Store's clients: their ids in order (to page
// through them) and their positions on a latitude/longitude grid (to find
// the clients inside a circle). Kept up to date from the store's feed with a
// cursor of its own, like any other feed reader: CatchUp() applies what the
// store accepted since the last call, so the store knows nothing of
// positions. It only marks records whose location changed (move tracking,
// claimed by the first index), so that reports from where a client already
// was cost the index nothing.
//
// Per client it holds one small block (position and id, no record) carved
// from an arena, in two btrees: about 50 bytes plus the id. The grid has
// kCellDegrees cells keyed row-major, so a circle is one key range per grid
// row it spans (at most 91 for 50 km; the whole row near a pole, where the
// circle spans every longitude; two ranges where it crosses the ±180°
// meridian); candidates are then checked exactly by great-circle distance.
//
// Thread-safe. CatchUp() calls are serialised among themselves (feed_mu_);
// queries take only mu_, and see the index as of the last batch applied.
class LocationIndex {
 public:
  static constexpr double kCellDegrees = 0.01;  // ~1.1 km of latitude

  // REQUIRES: `store` outlives the index. The first index on a store
  // claims its move tracking and then reads only clients that moved.
  explicit LocationIndex(Store* store);
  LocationIndex(const LocationIndex&) = delete;
  LocationIndex& operator=(const LocationIndex&) = delete;
  ~LocationIndex();

  // Applies up to `max` feed entries accepted since the last call; true if
  // it reached the end of the feed.
  bool CatchUp(size_t max = SIZE_MAX);

  struct Hit {
    std::string client_id;
    double latitude = 0;
    double longitude = 0;
    double distance_km = 0;
  };
  struct CircleResult {
    std::vector<Hit> hits;  // nearest first, ties by client id
    size_t total = 0;       // clients inside the circle (>= hits.size())
  };

  // The clients within `radius_km` (inclusive) of (latitude, longitude), at
  // most `max` of them. Empty for a non-positive or non-finite radius, or a
  // latitude outside [-90, 90]. Cost: the candidates in the circle's
  // bounding cells, plus a partial sort of those inside.
  CircleResult Within(double latitude, double longitude, double radius_km, size_t max) const;

  // Up to `max` client ids greater than `after` (bytewise), in order.
  std::vector<std::string> IdsAfter(std::string_view after, size_t max) const;

  // Clients indexed.
  size_t size() const;

 private:
  // One client: its position, grid cell and id, in one heap block.
  struct Item {
    double latitude;
    double longitude;
    uint32_t cell;
    uint16_t id_size;
    char id_data[];  // the id's bytes
    std::string_view id() const { return std::string_view(id_data, id_size); }
  };
  struct ById {
    using is_transparent = void;
    static std::string_view Key(std::string_view id) { return id; }
    static std::string_view Key(const Item* item) { return item->id(); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return Key(a) < Key(b);
    }
  };
  // By cell, then by address (any order within a cell will do); finds by
  // cell number alone too.
  struct ByCell {
    using is_transparent = void;
    bool operator()(const Item* a, const Item* b) const {
      return a->cell != b->cell ? a->cell < b->cell : a < b;
    }
    bool operator()(const Item* a, uint32_t cell) const { return a->cell < cell; }
    bool operator()(uint32_t cell, const Item* b) const { return cell < b->cell; }
  };

  // A feed entry read but not applied yet: its id and location are the
  // bytes [offset, offset + id_size + location_size) of pending_text_.
  struct Pending {
    size_t offset;
    size_t id_size;
    size_t location_size;
  };

  // Drops a client the store forgot (client_ttl). Its block goes to a free
  // list for the next client with an id of the same size.
  void Remove(std::string_view client_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sets the client's position (adding it if new). REQUIRES: mu_ held.
  void Put(std::string_view client_id, std::string_view location)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds the clients of cells [first, last] that are inside the circle to
  // `items`, and their distances to `distances`.
  void Scan(uint32_t first, uint32_t last, double latitude, double longitude, double radius_km,
            std::vector<const Item*>* items, std::vector<double>* distances) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  Store* const store_;
  const bool tracks_moves_;  // this index holds the store's move tracking

  absl::Mutex feed_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  Store::Cursor cursor_ ABSL_GUARDED_BY(feed_mu_);
  // One batch copied out of the store, reused so catching up allocates
  // nothing once warm.
  std::string pending_text_ ABSL_GUARDED_BY(feed_mu_);
  std::vector<Pending> pending_ ABSL_GUARDED_BY(feed_mu_);

  mutable absl::Mutex mu_;
  BlockArena items_ ABSL_GUARDED_BY(mu_);  // owns the items
  // Blocks of removed items by id size, reused before the arena grows.
  absl::flat_hash_map<uint16_t, std::vector<Item*>> free_items_ ABSL_GUARDED_BY(mu_);
  absl::btree_set<Item*, ById> by_id_ ABSL_GUARDED_BY(mu_);
  absl::btree_set<Item*, ByCell> by_cell_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_STORE_LOCATION_INDEX_H_
