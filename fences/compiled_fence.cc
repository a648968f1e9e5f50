#include "fences/compiled_fence.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "fences/fence_geometry.h"
#include "s2/s2edge_distances.h"
#include "s2/s2region_coverer.h"

namespace herd {
namespace {

absl::Status Invalid(std::string_view prefix, std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(AsAbsl(prefix), AsAbsl(field), ": ", AsAbsl(what)));
}

absl::Status CheckDegrees(std::string_view prefix, std::string_view field, bool present,
                          double value, double limit) {
  if (!present) return Invalid(prefix, field, "required");
  if (!(value >= -limit && value <= limit)) {
    return Invalid(
        prefix, field,
        absl::StrCat("must be in [", -limit, ", ", limit, "], got ", FormatNumber(value)));
  }
  return absl::OkStatus();
}

absl::Status CheckRadius(std::string_view prefix, std::string_view field, double radius_m,
                         double max) {
  if (!(radius_m > 0))
    return Invalid(prefix, field, absl::StrCat("must be > 0, got ", FormatNumber(radius_m)));
  if (!(radius_m <= max)) {
    return Invalid(
        prefix, field,
        absl::StrCat("must be at most ", FormatNumber(max), ", got ", FormatNumber(radius_m)));
  }
  return absl::OkStatus();
}

// "http://" or "https://", then a host (an authority that is not only a
// port or user info); no whitespace or control bytes.
bool IsHttpUrl(std::string_view url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return false;
  }
  std::string_view rest;
  if (absl::StartsWithIgnoreCase(AsAbsl(url), "http://")) {
    rest = url.substr(7);
  } else if (absl::StartsWithIgnoreCase(AsAbsl(url), "https://")) {
    rest = url.substr(8);
  } else {
    return false;
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (authority.empty() || authority.front() == ':') return false;
  return true;
}

absl::Status CheckWebhookUrl(std::string_view prefix, std::string_view url) {
  if (url.empty()) return absl::OkStatus();
  if (url.size() > CompiledFence::kMaxWebhookUrlBytes) {
    return Invalid(
        prefix, "webhook_url",
        absl::StrCat("at most ", CompiledFence::kMaxWebhookUrlBytes, " bytes, got ", url.size()));
  }
  if (!IsHttpUrl(url)) return Invalid(prefix, "webhook_url", "must be an http:// or https:// URL");
  return absl::OkStatus();
}

// The detect list as a bit set; empty means ENTER and EXIT.
absl::StatusOr<uint32_t> KindsOf(const v1::Fence& fence, std::string_view prefix) {
  if (fence.detect_size() == 0) {
    return (uint32_t{1} << v1::FenceEvent::ENTER) | (uint32_t{1} << v1::FenceEvent::EXIT);
  }
  uint32_t kinds = 0;
  for (int raw : fence.detect()) {
    if (raw < v1::FenceEvent::ENTER || raw > v1::FenceEvent::CROSS) {
      return Invalid(prefix, "detect", absl::StrCat("unknown kind ", raw));
    }
    if (raw == v1::FenceEvent::CROSS && fence.has_roaming()) {
      return Invalid(prefix, "detect",
                     "CROSS is not supported for roaming fences (they move with clients)");
    }
    kinds |= uint32_t{1} << raw;
  }
  return kinds;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CompiledFence>> CompiledFence::Compile(
    const v1::Fence& fence, std::string_view prefix) {
  // Not make_shared: the constructor is private.
  std::shared_ptr<CompiledFence> compiled(new CompiledFence());
  compiled->id_ = fence.id();
  if (absl::Status shape = compiled->CompileShape(fence, prefix); !shape.ok()) return shape;
  absl::StatusOr<uint32_t> kinds = KindsOf(fence, prefix);
  if (!kinds.ok()) return kinds.status();
  compiled->kinds_ = *kinds;
  absl::StatusOr<Glob> client_pattern =
      Glob::Parse(fence.client_pattern(), absl::StrCat(AsAbsl(prefix), "client_pattern"));
  if (!client_pattern.ok()) return client_pattern.status();
  compiled->client_pattern_ = *std::move(client_pattern);
  if (absl::Status url = CheckWebhookUrl(prefix, fence.webhook_url()); !url.ok()) return url;
  compiled->webhook_url_ = fence.webhook_url();
  compiled->ComputeCovering();
  return compiled;
}

absl::Status CompiledFence::CompileShape(const v1::Fence& fence, std::string_view prefix) {
  switch (fence.shape_case()) {
    case v1::Fence::kCircle: {
      const v1::Circle& circle = fence.circle();
      shape_ = Shape::kCircle;
      if (absl::Status s =
              CheckDegrees(prefix, "circle.latitude", circle.has_latitude(), circle.latitude(), 90);
          !s.ok()) {
        return s;
      }
      if (absl::Status s = CheckDegrees(prefix, "circle.longitude", circle.has_longitude(),
                                        circle.longitude(), 180);
          !s.ok()) {
        return s;
      }
      if (absl::Status s =
              CheckRadius(prefix, "circle.radius_m", circle.radius_m(), kMaxCircleRadiusM);
          !s.ok()) {
        return s;
      }
      cap_ = CapFromCircle(circle.latitude(), circle.longitude(), circle.radius_m());
      return absl::OkStatus();
    }
    case v1::Fence::kPolygon: {
      shape_ = Shape::kPolygon;
      absl::StatusOr<std::unique_ptr<S2Polygon>> polygon = PolygonFromGeoJson(
          fence.polygon().geojson(), absl::StrCat(AsAbsl(prefix), "polygon.geojson"));
      if (!polygon.ok()) return polygon.status();
      polygon_ = *std::move(polygon);
      // Built now, so that concurrent Contains() calls only read it.
      polygon_->index().ForceBuild();
      cap_ = polygon_->GetCapBound();
      return absl::OkStatus();
    }
    case v1::Fence::kRoaming: {
      shape_ = Shape::kRoaming;
      const v1::Roaming& roaming = fence.roaming();
      if (absl::Status s =
              CheckRadius(prefix, "roaming.radius_m", roaming.radius_m(), kMaxRoamingRadiusM);
          !s.ok()) {
        return s;
      }
      roaming_radius_m_ = roaming.radius_m();
      absl::StatusOr<Glob> nearby = Glob::Parse(
          roaming.nearby_pattern(), absl::StrCat(AsAbsl(prefix), "roaming.nearby_pattern"));
      if (!nearby.ok()) return nearby.status();
      nearby_pattern_ = *std::move(nearby);
      return absl::OkStatus();
    }
    case v1::Fence::SHAPE_NOT_SET:
      break;
  }
  return Invalid(prefix, "shape", "one of circle, polygon or roaming is required");
}

void CompiledFence::ComputeCovering() {
  if (shape_ == Shape::kRoaming) return;
  S2RegionCoverer::Options options;
  options.set_max_cells(kMaxCoveringCells);
  S2RegionCoverer coverer(options);
  if (shape_ == Shape::kCircle) {
    coverer.GetCovering(cap_, &covering_);
  } else {
    coverer.GetCovering(*polygon_, &covering_);
  }
}

namespace {

// S2Cap::Contains without the call into libs2 (Debian's build keeps its
// debug checks, which cost more than the test): the same chord comparison.
bool CapContains(const S2Cap& cap, const S2Point& point) {
  return (point - cap.center()).Norm2() <= cap.radius().length2();
}

}  // namespace

bool CompiledFence::Contains(const S2Point& point) const {
  switch (shape_) {
    case Shape::kCircle:
      return CapContains(cap_, point);
    case Shape::kPolygon:
      // Candidates come from coarse cells: most fail the bound, one dot
      // product, before S2 tests every edge of a small polygon.
      return CapContains(cap_, point) && polygon_->Contains(point);
    case Shape::kRoaming:
      break;
  }
  return false;
}

bool CompiledFence::SegmentReaches(const S2Point& a, const S2Point& b) const {
  switch (shape_) {
    case Shape::kCircle:
      return S1ChordAngle(S2::GetDistance(cap_.center(), a, b)) <= cap_.radius();
    case Shape::kPolygon:
      return SegmentTouchesBoundary(*polygon_, a, b);
    case Shape::kRoaming:
      break;
  }
  return false;
}

}  // namespace herd
