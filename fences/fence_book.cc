#include "fences/fence_book.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace herd {

// One fence id's newest version. Immutable once made: replaced whole.
struct FenceBook::Entry {
  v1::Fence fence;
  uint64_t seq = 0;
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

FenceBook::FenceBook(Options options) : options_(std::move(options)) {}

FenceBook::~FenceBook() = default;

absl::Status FenceBook::Check(const v1::Fence& fence, std::string_view prefix) const {
  if (absl::Status id = CheckId(fence.id(), absl::StrCat(AsAbsl(prefix), "id")); !id.ok())
    return id;
  if (fence.shape_case() == v1::Fence::SHAPE_NOT_SET) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(prefix), "shape: one of circle, polygon or roaming is required"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Fence> FenceBook::Set(const v1::Fence& request) {
  if (absl::Status checked = Check(request, "fence."); !checked.ok()) return checked;
  v1::Fence fence = request;
  fence.mutable_version()->Clear();
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
    Put(fence);
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
    Put(deletion);
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
  if (!Check(fence, "").ok() || fence.version().origin().empty()) return Outcome::kInvalid;
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
    Put(fence);
  }
  Notify();
  return Outcome::kAccepted;
}

void FenceBook::Put(const v1::Fence& fence) {
  auto entry = std::make_shared<Entry>();
  entry->fence = fence;
  entry->seq = ++last_seq_;
  auto [it, inserted] = by_id_.try_emplace(fence.id());
  if (!inserted) {
    by_seq_.erase(it->second->seq);
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

void FenceBook::Detect(const RecordView& record, const RecordView* previous,
                       const NearbyLookup& nearby, std::vector<FiredEvent>* events) const {
  // Geometry comes with fences/fence_geometry (S2).
}

}  // namespace herd
