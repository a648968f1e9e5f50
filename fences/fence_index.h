#ifndef HERD_FENCES_FENCE_INDEX_H_
#define HERD_FENCES_FENCE_INDEX_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "fences/compiled_fence.h"
#include "s2/s2cell_id.h"
#include "s2/s2point.h"

namespace herd {

// The live fences arranged so that one report looks only at the fences near
// it. Circles and polygons are kept under the cells of their coverings
// (CompiledFence::covering()): a point finds the fences whose cells contain
// its leaf cell by walking down its ancestors (hash lookups, stopping where
// nothing lies below); a segment finds the CROSS fences whose cells meet the
// few cells bounding it (ancestors by hash, descendants by one ordered range
// each). Fences to look at on every report (roaming ones, and those
// detecting OUTSIDE) are kept in lists of their own.
//
// The index shares ownership of what it holds: a fence it still lists is
// never freed under it, and Detect can evaluate roaming fences (calling out
// to find nearby clients) after letting go of the lock that guards the index.
//
// Not thread-safe: FenceBook guards it with its mutex (readers shared).
class FenceIndex {
 public:
  // Enough for the fences around two points without allocating.
  using Candidates = absl::InlinedVector<const CompiledFence*, 16>;

  FenceIndex() = default;
  FenceIndex(const FenceIndex&) = delete;
  FenceIndex& operator=(const FenceIndex&) = delete;

  // REQUIRES: `fence` is not in the index.
  void Add(const std::shared_ptr<const CompiledFence>& fence);
  // REQUIRES: `fence` is in the index.
  void Remove(const CompiledFence* fence);

  // Appends the indexed fences whose covering holds `point` or `other` (a
  // superset of those containing either; a fence may be appended more than
  // once). Cells the two points share are looked up once.
  void AppendNear(const S2Point& point, const S2Point& other, Candidates* out) const;
  // Appends the indexed fences detecting CROSS whose covering may meet the
  // great-circle segment a-b.
  void AppendAlongSegment(const S2Point& a, const S2Point& b, Candidates* out) const;

  // Circles and polygons detecting OUTSIDE: considered on every report.
  const std::vector<std::shared_ptr<const CompiledFence>>& outside() const { return outside_; }
  // Roaming fences: considered on every report.
  const std::vector<std::shared_ptr<const CompiledFence>>& roaming() const { return roaming_; }
  bool has_crossing() const { return crossing_.size() > 0; }

 private:
  // Cell -> fences, as a tree of cells in a hash map: each node holds the
  // fences covering exactly that cell and counts the covering cells under
  // it, so a point's walk down its ancestors stops at the first cell with
  // nothing below (a report away from fences costs a few lookups of coarse,
  // cache-hot cells). Optionally also ordered by cell id, so that a cell's
  // descendants are one range.
  class CellMap {
   public:
    explicit CellMap(bool ordered) : ordered_(ordered) {}
    void Insert(const std::shared_ptr<const CompiledFence>& fence);
    void Erase(const CompiledFence* fence);
    // Fences under `a` or `b` or any of their ancestors.
    void AppendContaining(S2CellId a, S2CellId b, Candidates* out) const;
    // Fences under `cell`'s descendants. REQUIRES: ordered.
    void AppendDescendants(S2CellId cell, Candidates* out) const;
    size_t size() const { return nodes_.size(); }

   private:
    struct Node {
      // Fences covering this cell.
      absl::InlinedVector<std::shared_ptr<const CompiledFence>, 1> fences;
      size_t below = 0;  // covering cells strictly under this cell
    };
    // One step of a walk: the node of `cell`'s ancestor at `level`; its
    // fences appended; false when the walk below it would find nothing.
    bool Step(S2CellId cell, int level, Candidates* out) const;
    int FirstLevel() const;  // the coarsest level holding a covering cell

    const bool ordered_;
    absl::flat_hash_map<uint64_t, Node> nodes_;
    absl::btree_set<std::pair<uint64_t, const CompiledFence*>> in_order_;  // if ordered_
    std::array<size_t, S2CellId::kMaxLevel + 1> per_level_{};  // covering cells per level
  };

  CellMap near_{/*ordered=*/false};     // every indexed fence
  CellMap crossing_{/*ordered=*/true};  // indexed fences detecting CROSS
  std::vector<std::shared_ptr<const CompiledFence>> outside_;
  std::vector<std::shared_ptr<const CompiledFence>> roaming_;
};

}  // namespace herd

#endif  // HERD_FENCES_FENCE_INDEX_H_
