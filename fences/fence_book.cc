#include "fences/fence_book.h"

#include <algorithm>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/geo.h"
#include "common/strings.h"
#include "fences/compiled_fence.h"
#include "fences/fence_event.h"
#include "fences/fence_geometry.h"
#include "fences/fence_index.h"

namespace herd {

// One fence id's newest version. Immutable once made: replaced whole.
struct FenceBook::Entry {
  v1::Fence fence;
  uint64_t seq = 0;
  std::shared_ptr<const CompiledFence> compiled;  // null for a deletion
};

// A report as Detect sees it: the records and their positions.
struct FenceBook::Report {
  const RecordView& record;
  const RecordView* previous = nullptr;  // null: a new client (or unreadable)
  LatLng now = {};
  S2Point now_point = {};
  LatLng before = {};
  S2Point before_point = {};
  bool moved = false;  // previous set and its position differs
};

bool IsNewerFenceVersion(const v1::FenceVersion& a, const v1::FenceVersion& b) {
  if (a.time_ns() != b.time_ns()) return a.time_ns() > b.time_ns();
  if (a.origin() != b.origin()) return a.origin() > b.origin();
  return a.deleted() && !b.deleted();  // a deletion at the same instant wins
}

namespace {

bool IsFenceIdByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

absl::Status CheckId(std::string_view id, std::string_view field) {
  if (id.empty() || id.size() > 128 || !std::all_of(id.begin(), id.end(), IsFenceIdByte)) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(field), ": must be 1-128 bytes of letters, digits and \"._:-\""));
  }
  return absl::OkStatus();
}

}  // namespace

FenceBook::FenceBook(Options options)
    : options_(std::move(options)), index_(std::make_unique<FenceIndex>()) {}

FenceBook::~FenceBook() = default;

absl::StatusOr<std::shared_ptr<const CompiledFence>> FenceBook::Check(
    const v1::Fence& fence, std::string_view prefix) const {
  if (absl::Status id = CheckId(fence.id(), absl::StrCat(AsAbsl(prefix), "id")); !id.ok())
    return id;
  if (fence.version().deleted()) return nullptr;
  return CompiledFence::Compile(fence, prefix);
}

absl::StatusOr<v1::Fence> FenceBook::Set(const v1::Fence& request) {
  v1::Fence fence = request;
  fence.mutable_version()->Clear();  // output only
  // Compiled before taking the lock: a large polygon takes a while.
  absl::StatusOr<std::shared_ptr<const CompiledFence>> compiled = Check(fence, "fence.");
  if (!compiled.ok()) return compiled.status();
  {
    absl::MutexLock lock(&mu_);
    auto held = by_id_.find(fence.id());
    const bool live = held != by_id_.end() && !held->second->fence.version().deleted();
    if (!live && live_.load(std::memory_order_relaxed) >= options_.max_fences) {
      return absl::ResourceExhaustedError(absl::StrCat("fence.id: this herd keeps at most ",
                                                       options_.max_fences,
                                                       " fences (fences.max_fences)"));
    }
    int64_t time_ns = options_.now_ns();
    if (held != by_id_.end())
      time_ns = std::max(time_ns, held->second->fence.version().time_ns() + 1);
    fence.mutable_version()->set_time_ns(time_ns);
    fence.mutable_version()->set_origin(options_.server_name);
    Put(fence, *std::move(compiled));
  }
  Notify();
  return fence;
}

absl::StatusOr<v1::Fence> FenceBook::Delete(std::string_view id) {
  v1::Fence deletion;
  {
    absl::MutexLock lock(&mu_);
    auto held = by_id_.find(id);
    if (held == by_id_.end() || held->second->fence.version().deleted()) {
      return absl::NotFoundError(absl::StrCat("id: no fence \"", AsAbsl(id), "\""));
    }
    deletion = held->second->fence;
    const int64_t time_ns =
        std::max(options_.now_ns(), held->second->fence.version().time_ns() + 1);
    deletion.mutable_version()->set_time_ns(time_ns);
    deletion.mutable_version()->set_origin(options_.server_name);
    deletion.mutable_version()->set_deleted(true);
    Put(deletion, nullptr);
  }
  Notify();
  return deletion;
}

std::optional<v1::Fence> FenceBook::Get(std::string_view id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto held = by_id_.find(id);
  if (held == by_id_.end() || held->second->fence.version().deleted()) return std::nullopt;
  return held->second->fence;
}

std::vector<v1::Fence> FenceBook::List(std::string_view after_id, size_t max) const {
  std::vector<v1::Fence> fences;
  absl::ReaderMutexLock lock(&mu_);
  for (auto it = by_id_.upper_bound(after_id); it != by_id_.end() && fences.size() < max; ++it) {
    if (!it->second->fence.version().deleted()) fences.push_back(it->second->fence);
  }
  return fences;
}

size_t FenceBook::size() const { return live_.load(std::memory_order_relaxed); }

FenceBook::Outcome FenceBook::Apply(const v1::Fence& fence) {
  if (fence.version().origin().empty()) return Outcome::kInvalid;
  // Repeats are common (a neighbour's catch-up resends its whole state) and
  // compiling a polygon is the costly part: answer them before compiling.
  if (IsStale(fence)) return Outcome::kStale;
  absl::StatusOr<std::shared_ptr<const CompiledFence>> compiled = Check(fence, "");
  if (!compiled.ok()) return Outcome::kInvalid;
  {
    absl::MutexLock lock(&mu_);
    auto held = by_id_.find(fence.id());
    if (held != by_id_.end() &&
        !IsNewerFenceVersion(fence.version(), held->second->fence.version())) {
      return Outcome::kStale;
    }
    const bool live = held != by_id_.end() && !held->second->fence.version().deleted();
    if (!live && !fence.version().deleted() &&
        live_.load(std::memory_order_relaxed) >= options_.max_fences) {
      return Outcome::kRefused;
    }
    Put(fence, *std::move(compiled));
  }
  Notify();
  return Outcome::kAccepted;
}

bool FenceBook::IsStale(const v1::Fence& fence) const {
  absl::ReaderMutexLock lock(&mu_);
  auto held = by_id_.find(fence.id());
  return held != by_id_.end() &&
         !IsNewerFenceVersion(fence.version(), held->second->fence.version());
}

void FenceBook::Put(const v1::Fence& fence, std::shared_ptr<const CompiledFence> compiled) {
  auto entry = std::make_shared<Entry>();
  entry->fence = fence;
  entry->seq = ++last_seq_;
  entry->compiled = std::move(compiled);
  if (entry->compiled != nullptr) index_->Add(entry->compiled);
  auto [it, inserted] = by_id_.try_emplace(fence.id());
  if (!inserted) {
    by_seq_.erase(it->second->seq);
    if (it->second->compiled != nullptr) index_->Remove(it->second->compiled.get());
    if (!it->second->fence.version().deleted()) live_.fetch_sub(1, std::memory_order_relaxed);
  }
  if (!fence.version().deleted()) live_.fetch_add(1, std::memory_order_relaxed);
  by_seq_.emplace(entry->seq, fence.id());
  it->second = std::move(entry);
}

std::vector<v1::Fence> FenceBook::ReadAfter(uint64_t* cursor, size_t max) const {
  std::vector<v1::Fence> fences;
  absl::ReaderMutexLock lock(&mu_);
  for (auto it = by_seq_.upper_bound(*cursor); it != by_seq_.end() && fences.size() < max; ++it) {
    fences.push_back(by_id_.find(it->second)->second->fence);
    *cursor = it->first;
  }
  if (fences.size() < max) *cursor = std::max(*cursor, last_seq_);
  return fences;
}

uint64_t FenceBook::last_seq() const {
  absl::ReaderMutexLock lock(&mu_);
  return last_seq_;
}

int64_t FenceBook::AddListener(std::function<void()> listener) {
  absl::MutexLock lock(&listeners_mu_);
  const int64_t id = next_listener_id_++;
  listeners_.emplace_back(id, std::make_shared<std::function<void()>>(std::move(listener)));
  return id;
}

void FenceBook::RemoveListener(int64_t id) {
  absl::MutexLock lock(&listeners_mu_);
  std::erase_if(listeners_, [id](const auto& entry) { return entry.first == id; });
}

void FenceBook::Notify() {
  std::vector<std::shared_ptr<std::function<void()>>> listeners;
  {
    absl::MutexLock lock(&listeners_mu_);
    for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
  }
  for (const auto& listener : listeners) (*listener)();
}

size_t FenceBook::ForgetDeleted() {
  const int64_t cutoff = options_.now_ns() - options_.deleted_ttl_ns;
  absl::MutexLock lock(&mu_);
  size_t forgotten = 0;
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    const v1::FenceVersion& version = it->second->fence.version();
    if (version.deleted() && version.time_ns() < cutoff) {
      by_seq_.erase(it->second->seq);
      it = by_id_.erase(it);
      ++forgotten;
    } else {
      ++it;
    }
  }
  return forgotten;
}

namespace {

using Kind = v1::FenceEvent::Kind;

bool SameLatLng(const LatLng& a, const LatLng& b) {
  return a.latitude == b.latitude && a.longitude == b.longitude;
}

// The nearest client other than `self` matching the fence's nearby_pattern
// within its radius of `at`. With `want_nearest` false it stops at the first
// one (only whether there is one matters).
struct NearbySearch {
  bool found = false;
  double distance_m = 0;
  std::string nearest_id;
};

NearbySearch FindNearby(const CompiledFence& fence, std::string_view self, LatLng at,
                        bool want_nearest, const FenceBook::NearbyLookup& nearby) {
  NearbySearch search;
  if (!nearby) return search;
  int visited = 0;
  nearby(at, fence.roaming_radius_m(), [&](std::string_view id, LatLng where) {
    if (++visited > FenceBook::kMaxNearbyVisits) return false;
    if (id == self || !fence.nearby_pattern().Matches(id)) return true;
    const double distance_m =
        HaversineKm(at.latitude, at.longitude, where.latitude, where.longitude) * 1000;
    if (distance_m > fence.roaming_radius_m()) return true;
    if (!search.found || distance_m < search.distance_m ||
        (distance_m == search.distance_m && id < search.nearest_id)) {
      search.found = true;
      search.distance_m = distance_m;
      if (want_nearest) search.nearest_id.assign(id);
    }
    return want_nearest;
  });
  return search;
}

}  // namespace

void FenceBook::Detect(const RecordView& record, const RecordView* previous,
                       const NearbyLookup& nearby, std::vector<FiredEvent>* events) const {
  Report report{.record = record};
  if (!ParseLocation(record.location, &report.now.latitude, &report.now.longitude)) return;
  report.now_point = PointFromDegrees(report.now.latitude, report.now.longitude);
  report.before_point = report.now_point;  // no previous: one point to look up
  if (previous != nullptr &&
      ParseLocation(previous->location, &report.before.latitude, &report.before.longitude)) {
    report.previous = previous;
    report.moved = !SameLatLng(report.before, report.now);
    report.before_point = report.moved
                              ? PointFromDegrees(report.before.latitude, report.before.longitude)
                              : report.now_point;
  }
  const size_t first_event = events->size();
  absl::InlinedVector<std::shared_ptr<const CompiledFence>, 2> roaming;
  {
    absl::ReaderMutexLock lock(&mu_);
    FenceIndex::Candidates candidates;
    index_->AppendNear(report.now_point, report.before_point, &candidates);
    if (report.moved && index_->has_crossing()) {
      index_->AppendAlongSegment(report.before_point, report.now_point, &candidates);
    }
    for (const auto& fence : index_->outside()) candidates.push_back(fence.get());
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    for (const CompiledFence* fence : candidates) {
      if (fence->client_pattern().Matches(record.client_id)) DetectStatic(*fence, report, events);
    }
    for (const auto& fence : index_->roaming()) {
      if (fence->client_pattern().Matches(record.client_id)) roaming.push_back(fence);
    }
  }
  // Roaming fences call out to find nearby clients: no lock held.
  for (const auto& fence : roaming) DetectRoaming(*fence, report, nearby, events);
  if (events->size() - first_event > 1) {
    std::stable_sort(events->begin() + first_event, events->end(),
                     [](const FiredEvent& a, const FiredEvent& b) {
                       if (a.event.fence_id() != b.event.fence_id())
                         return a.event.fence_id() < b.event.fence_id();
                       return a.event.kind() < b.event.kind();
                     });
  }
}

void FenceBook::DetectStatic(const CompiledFence& fence, const Report& report,
                             std::vector<FiredEvent>* events) const {
  const bool inside_now = fence.Contains(report.now_point);
  bool inside_before = false;
  if (report.previous != nullptr) {
    inside_before = report.moved ? fence.Contains(report.before_point) : inside_now;
  }
  if (!inside_before && inside_now && fence.Detects(v1::FenceEvent::ENTER))
    Fire(fence, v1::FenceEvent::ENTER, report, "", events);
  if (inside_before && !inside_now && fence.Detects(v1::FenceEvent::EXIT))
    Fire(fence, v1::FenceEvent::EXIT, report, "", events);
  if (inside_now && fence.Detects(v1::FenceEvent::INSIDE))
    Fire(fence, v1::FenceEvent::INSIDE, report, "", events);
  if (!inside_now && fence.Detects(v1::FenceEvent::OUTSIDE))
    Fire(fence, v1::FenceEvent::OUTSIDE, report, "", events);
  if (report.moved && !inside_before && !inside_now && fence.Detects(v1::FenceEvent::CROSS) &&
      fence.SegmentReaches(report.before_point, report.now_point)) {
    Fire(fence, v1::FenceEvent::CROSS, report, "", events);
  }
}

void FenceBook::DetectRoaming(const CompiledFence& fence, const Report& report,
                              const NearbyLookup& nearby, std::vector<FiredEvent>* events) const {
  const bool enter = fence.Detects(v1::FenceEvent::ENTER);
  const bool exit = fence.Detects(v1::FenceEvent::EXIT);
  const bool inside = fence.Detects(v1::FenceEvent::INSIDE);
  const bool outside = fence.Detects(v1::FenceEvent::OUTSIDE);
  const std::string_view self = report.record.client_id;
  const NearbySearch now = FindNearby(fence, self, report.now, enter || inside, nearby);
  // Not moved: judged against the same positions, so the same answer.
  NearbySearch before;
  if (report.previous != nullptr && (enter || exit)) {
    if (report.moved) {
      before = FindNearby(fence, self, report.before, exit, nearby);
    } else {
      before.found = now.found;  // EXIT cannot fire: its nearest is not needed
    }
  }
  if (!before.found && now.found && enter)
    Fire(fence, v1::FenceEvent::ENTER, report, now.nearest_id, events);
  if (before.found && !now.found && exit)
    Fire(fence, v1::FenceEvent::EXIT, report, before.nearest_id, events);
  if (now.found && inside) Fire(fence, v1::FenceEvent::INSIDE, report, now.nearest_id, events);
  if (!now.found && outside) Fire(fence, v1::FenceEvent::OUTSIDE, report, "", events);
}

void FenceBook::Fire(const CompiledFence& fence, v1::FenceEvent::Kind kind, const Report& report,
                     std::string_view nearby_client_id, std::vector<FiredEvent>* events) const {
  FiredEvent& fired = events->emplace_back();
  fired.webhook_url = fence.webhook_url();
  v1::FenceEvent& event = fired.event;
  const uint64_t number = events_fired_.fetch_add(1, std::memory_order_relaxed) + 1;
  event.set_id(FenceEventId(options_.server_name, options_.epoch, number));
  event.set_fence_id(fence.id());
  event.set_kind(kind);
  ToLocation(report.record, report.now.latitude, report.now.longitude, event.mutable_location());
  if (report.previous != nullptr) {
    ToLocation(*report.previous, report.before.latitude, report.before.longitude,
               event.mutable_previous());
  }
  event.set_nearby_client_id(nearby_client_id.data(), nearby_client_id.size());
  event.set_server(options_.server_name);
  ToTimestamp(options_.now_ns(), event.mutable_fired_at());
}

}  // namespace herd
