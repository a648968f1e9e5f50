#include "fences/fence_index.h"

#include <algorithm>

#include "s2/s2cap.h"

namespace herd {

void FenceIndex::CellMap::Insert(const CompiledFence* fence) {
  for (S2CellId cell : fence->covering()) {
    if (cells_.emplace(cell.id(), fence).second) ++per_level_[cell.level()];
  }
}

void FenceIndex::CellMap::Erase(const CompiledFence* fence) {
  for (S2CellId cell : fence->covering()) {
    if (cells_.erase({cell.id(), fence}) > 0) --per_level_[cell.level()];
  }
}

void FenceIndex::CellMap::AppendContaining(S2CellId cell, Candidates* out) const {
  for (int level = 0; level <= cell.level(); ++level) {
    if (per_level_[level] == 0) continue;
    const uint64_t ancestor = cell.parent(level).id();
    for (auto it = cells_.lower_bound({ancestor, nullptr});
         it != cells_.end() && it->first == ancestor; ++it) {
      out->push_back(it->second);
    }
  }
}

void FenceIndex::CellMap::AppendDescendants(S2CellId cell, Candidates* out) const {
  if (cell.is_leaf()) return;
  const uint64_t last = cell.range_max().id();
  for (auto it = cells_.lower_bound({cell.range_min().id(), nullptr});
       it != cells_.end() && it->first <= last; ++it) {
    if (it->first != cell.id()) out->push_back(it->second);
  }
}

void FenceIndex::Add(const std::shared_ptr<const CompiledFence>& fence) {
  if (fence->shape() == CompiledFence::Shape::kRoaming) {
    roaming_.push_back(fence);
  } else if (fence->Detects(v1::FenceEvent::OUTSIDE)) {
    outside_.push_back(fence.get());
  } else {
    near_.Insert(fence.get());
    if (fence->Detects(v1::FenceEvent::CROSS)) crossing_.Insert(fence.get());
  }
}

void FenceIndex::Remove(const CompiledFence* fence) {
  if (fence->shape() == CompiledFence::Shape::kRoaming) {
    std::erase_if(roaming_, [fence](const auto& held) { return held.get() == fence; });
    return;
  }
  if (fence->Detects(v1::FenceEvent::OUTSIDE)) {
    std::erase(outside_, fence);
    return;
  }
  near_.Erase(fence);
  if (fence->Detects(v1::FenceEvent::CROSS)) crossing_.Erase(fence);
}

void FenceIndex::AppendNear(const S2Point& point, Candidates* out) const {
  near_.AppendContaining(S2CellId(point), out);
}

void FenceIndex::AppendAlongSegment(const S2Point& a, const S2Point& b, Candidates* out) const {
  // The cap around the segment's midpoint through its ends holds the whole
  // (shorter) great-circle arc; its cell bound is at most 4 cells at one
  // level, so a fence meeting the segment sits in, above or below them.
  const S2Point sum = a + b;
  S2Cap cap = S2Cap::Full();  // antipodal ends: the arc is any half circle
  if (sum.Norm2() > 1e-24) {
    cap = S2Cap::FromPoint(sum.Normalize());
    cap.AddPoint(a);
    cap.AddPoint(b);
  }
  std::vector<S2CellId> cells;
  cap.GetCellUnionBound(&cells);
  for (S2CellId cell : cells) {
    crossing_.AppendContaining(cell, out);
    crossing_.AppendDescendants(cell, out);
  }
}

}  // namespace herd
