#ifndef HERD_FENCES_COMPILED_FENCE_H_
#define HERD_FENCES_COMPILED_FENCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fences/glob.h"
#include "herd/v1/fences.pb.h"
#include "s2/s2cap.h"
#include "s2/s2cell_id.h"
#include "s2/s2point.h"
#include "s2/s2polygon.h"

namespace herd {

// A live fence made ready for detection: its fields checked (the rules of
// herd.v1.Fence), its shape as S2 geometry (an S2Cap for a circle, an
// S2Polygon with its index built for a polygon), its patterns parsed, the
// kinds it detects as a bit set, and the cells that cover it (for
// FenceIndex). Built once per fence version, off any lock.
//
// Immutable after Compile: thread-safe (concurrent Contains() calls never
// build anything lazily).
class CompiledFence {
 public:
  enum class Shape { kCircle, kPolygon, kRoaming };

  static constexpr size_t kMaxWebhookUrlBytes = 2048;
  static constexpr double kMaxCircleRadiusM = 20'000'000;
  static constexpr double kMaxRoamingRadiusM = 50'000;
  static constexpr int kMaxCoveringCells = 12;

  // Checks `fence` (not its version) and compiles it. INVALID_ARGUMENT whose
  // message starts with the field's path under `prefix` ("fence." for a
  // client's request): "fence.circle.radius_m: must be > 0, got -5".
  static absl::StatusOr<std::shared_ptr<const CompiledFence>> Compile(const v1::Fence& fence,
                                                                      std::string_view prefix);

  CompiledFence(const CompiledFence&) = delete;
  CompiledFence& operator=(const CompiledFence&) = delete;

  const std::string& id() const { return id_; }
  Shape shape() const { return shape_; }
  const std::string& webhook_url() const { return webhook_url_; }
  const Glob& client_pattern() const { return client_pattern_; }

  bool Detects(v1::FenceEvent::Kind kind) const { return (kinds_ >> kind) & 1; }

  // Circle and polygon: whether `point` is inside (a circle includes its
  // edge; a polygon follows S2's semi-open boundary rule).
  bool Contains(const S2Point& point) const;
  // Circle and polygon: whether the great-circle segment a-b comes within
  // the circle, or crosses or touches the polygon's boundary. With both ends
  // outside, that is "the way between went through the fence".
  bool SegmentReaches(const S2Point& a, const S2Point& b) const;
  // Circle and polygon: cells whose union holds the fence.
  const std::vector<S2CellId>& covering() const { return covering_; }

  // Roaming.
  const Glob& nearby_pattern() const { return nearby_pattern_; }
  double roaming_radius_m() const { return roaming_radius_m_; }

 private:
  CompiledFence() = default;

  absl::Status CompileShape(const v1::Fence& fence, std::string_view prefix);
  void ComputeCovering();

  std::string id_;
  Shape shape_ = Shape::kCircle;
  uint32_t kinds_ = 0;  // bit k: detects FenceEvent::Kind k
  Glob client_pattern_;
  std::string webhook_url_;
  S2Cap cap_;  // a circle; for a polygon, its bound (a cheap first test)
  std::unique_ptr<S2Polygon> polygon_;
  Glob nearby_pattern_;
  double roaming_radius_m_ = 0;
  std::vector<S2CellId> covering_;
};

}  // namespace herd

#endif  // HERD_FENCES_COMPILED_FENCE_H_
