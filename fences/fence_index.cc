#include "fences/fence_index.h"

#include <algorithm>

#include "s2/s2cap.h"

namespace herd {

void FenceIndex::CellMap::Insert(const std::shared_ptr<const CompiledFence>& fence) {
  for (S2CellId cell : fence->covering()) {
    nodes_[cell.id()].fences.push_back(fence);
    for (int level = 0; level < cell.level(); ++level) ++nodes_[cell.parent(level).id()].below;
    if (ordered_) in_order_.emplace(cell.id(), fence.get());
    ++per_level_[cell.level()];
  }
}

void FenceIndex::CellMap::Erase(const CompiledFence* fence) {
  for (S2CellId cell : fence->covering()) {
    auto it = nodes_.find(cell.id());
    if (it == nodes_.end()) continue;
    auto& fences = it->second.fences;
    const auto held = std::find_if(fences.begin(), fences.end(),
                                   [fence](const auto& held) { return held.get() == fence; });
    if (held == fences.end()) continue;
    fences.erase(held);
    if (fences.empty() && it->second.below == 0) nodes_.erase(it);
    for (int level = 0; level < cell.level(); ++level) {
      auto ancestor = nodes_.find(cell.parent(level).id());
      if (--ancestor->second.below == 0 && ancestor->second.fences.empty()) {
        nodes_.erase(ancestor);
      }
    }
    if (ordered_) in_order_.erase({cell.id(), fence});
    --per_level_[cell.level()];
  }
}

int FenceIndex::CellMap::FirstLevel() const {
  for (int level = 0; level <= S2CellId::kMaxLevel; ++level) {
    if (per_level_[level] > 0) return level;
  }
  return S2CellId::kMaxLevel + 1;
}

bool FenceIndex::CellMap::Step(S2CellId cell, int level, Candidates* out) const {
  auto it = nodes_.find(cell.parent(level).id());
  if (it == nodes_.end()) return false;
  for (const auto& fence : it->second.fences) out->push_back(fence.get());
  return it->second.below > 0 && level < cell.level();
}

void FenceIndex::CellMap::AppendContaining(S2CellId a, S2CellId b, Candidates* out) const {
  // Levels above the first holding fences have nodes only for counting.
  int level = FirstLevel();
  bool a_on = level <= a.level(), b_on = level <= b.level();
  for (; a_on || b_on; ++level) {
    const bool shared = a_on && b_on && a.parent(level) == b.parent(level);
    if (a_on) a_on = Step(a, level, out);
    if (shared) {
      b_on = a_on;
    } else if (b_on) {
      b_on = Step(b, level, out);
    }
  }
}

void FenceIndex::CellMap::AppendDescendants(S2CellId cell, Candidates* out) const {
  if (cell.is_leaf()) return;
  const uint64_t last = cell.range_max().id();
  for (auto it = in_order_.lower_bound({cell.range_min().id(), nullptr});
       it != in_order_.end() && it->first <= last; ++it) {
    out->push_back(it->second);
  }
}

void FenceIndex::Add(const std::shared_ptr<const CompiledFence>& fence) {
  if (fence->shape() == CompiledFence::Shape::kRoaming) {
    roaming_.push_back(fence);
  } else if (fence->Detects(v1::FenceEvent::OUTSIDE)) {
    outside_.push_back(fence);
  } else {
    near_.Insert(fence);
    if (fence->Detects(v1::FenceEvent::CROSS)) crossing_.Insert(fence);
  }
}

void FenceIndex::Remove(const CompiledFence* fence) {
  const auto is_fence = [fence](const auto& held) { return held.get() == fence; };
  if (fence->shape() == CompiledFence::Shape::kRoaming) {
    std::erase_if(roaming_, is_fence);
    return;
  }
  if (fence->Detects(v1::FenceEvent::OUTSIDE)) {
    std::erase_if(outside_, is_fence);
    return;
  }
  near_.Erase(fence);
  if (fence->Detects(v1::FenceEvent::CROSS)) crossing_.Erase(fence);
}

void FenceIndex::AppendNear(const S2Point& point, const S2Point& other, Candidates* out) const {
  const S2CellId cell(point);
  near_.AppendContaining(cell, point == other ? cell : S2CellId(other), out);
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
    crossing_.AppendContaining(cell, cell, out);
    crossing_.AppendDescendants(cell, out);
  }
}

}  // namespace herd
