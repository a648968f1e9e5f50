#include "api/fences_service.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/location_codec.h"
#include "common/escape.h"
#include "common/strings.h"

namespace herd {
namespace {

constexpr std::string_view kPageTokenTag = "f1:";
constexpr size_t kMaxFenceIdBytes = 128;

grpc::Status InvalidArgument(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

bool IsFenceIdByte(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
         c == '-';
}

// The same rule as FenceBook's for Fence.id, naming `field`.
absl::Status CheckFenceId(std::string_view id, std::string_view field) {
  if (id.empty() || id.size() > kMaxFenceIdBytes ||
      !std::all_of(id.begin(), id.end(), IsFenceIdByte)) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(field), ": must be 1-128 bytes of letters, digits and \"._:-\""));
  }
  return absl::OkStatus();
}

std::string_view ShapeName(const v1::Fence& fence) {
  switch (fence.shape_case()) {
    case v1::Fence::kCircle:
      return "circle";
    case v1::Fence::kPolygon:
      return "polygon";
    case v1::Fence::kRoaming:
      return "roaming";
    case v1::Fence::SHAPE_NOT_SET:
      break;
  }
  return "none";
}

// A Watch refused before it started (bad arguments, too many streams).
class RejectedWatch : public grpc::ServerWriteReactor<v1::WatchFencesResponse> {
 public:
  explicit RejectedWatch(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// Fence events are rare next to reports, so while a few Watch streams are
// open (up to 4) the thread that fired an event (an edge or gRPC thread)
// runs them itself: each reads its batch and starts a write, or does
// nothing while a write is in flight (its completion reads on), so an
// event reaches the wire without a thread wake-up. With more streams that
// thread only sets a flag and wakes the pump's thread, so its cost does
// not grow with the number of streams; batches are not delayed.
std::shared_ptr<FeedPump> StartFenceWatchPump(FenceEventFeed* feed) {
  return FeedPump::Start(FeedPump::Notifier{[feed](std::function<void()> listener) {
                                              return feed->AddListener(std::move(listener));
                                            },
                                            [feed](int64_t id) { feed->RemoveListener(id); }},
                         FeedPump::Pacing{.max_inline_readers = 4});
}

}  // namespace

FencesService::FencesService(FenceBook* book, std::shared_ptr<FenceEventFeed> feed, Options options)
    : book_(book),
      feed_(std::move(feed)),
      options_(std::move(options)),
      pump_(StartFenceWatchPump(feed_.get())),
      watch_places_(options_.max_watch_streams),
      watch_callers_(std::make_shared<CallerLimiter>(options_.max_watch_streams_per_caller)) {}

FencesService::~FencesService() { Shutdown(); }

void FencesService::Shutdown() { pump_->Stop(); }

std::string FencesService::EncodePageToken(std::string_view last_id) {
  return absl::WebSafeBase64Escape(absl::StrCat(AsAbsl(kPageTokenTag), AsAbsl(last_id)));
}

absl::StatusOr<std::string> FencesService::DecodePageToken(std::string_view token) {
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(AsAbsl(token), &decoded) ||
      !absl::StartsWith(decoded, AsAbsl(kPageTokenTag)) ||
      !CheckFenceId(std::string_view(decoded).substr(kPageTokenTag.size()), "id").ok()) {
    return absl::InvalidArgumentError(
        "page_token: not a token from List (pass next_page_token back unchanged)");
  }
  return decoded.substr(kPageTokenTag.size());
}

grpc::ServerUnaryReactor* FencesService::Set(grpc::CallbackServerContext* context,
                                             const v1::SetFenceRequest* request,
                                             v1::Fence* response) {
  absl::StatusOr<v1::Fence> stored = book_->Set(request->fence());
  if (!stored.ok()) {
    Info("api {} Fences.Set refused: {}", context->peer(), AsStd(stored.status().message()));
    return FinishNow(context, stored.status());
  }
  Info("api {} Fences.Set {} ({}, webhook {})", context->peer(), stored->id(), ShapeName(*stored),
       stored->webhook_url().empty() ? "none" : LoggableUrl(stored->webhook_url()));
  *response = *std::move(stored);
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* FencesService::Delete(grpc::CallbackServerContext* context,
                                                const v1::DeleteFenceRequest* request,
                                                v1::DeleteFenceResponse* response) {
  if (absl::Status s = CheckFenceId(request->id(), "id"); !s.ok()) return FinishNow(context, s);
  absl::StatusOr<v1::Fence> deleted = book_->Delete(request->id());
  if (!deleted.ok()) return FinishNow(context, deleted.status());
  Info("api {} Fences.Delete {} ({})", context->peer(), deleted->id(), ShapeName(*deleted));
  *response->mutable_fence() = *std::move(deleted);
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* FencesService::Get(grpc::CallbackServerContext* context,
                                             const v1::GetFenceRequest* request,
                                             v1::Fence* response) {
  if (absl::Status s = CheckFenceId(request->id(), "id"); !s.ok()) return FinishNow(context, s);
  std::optional<v1::Fence> fence = book_->Get(request->id());
  if (!fence) {
    return FinishNow(context, grpc::Status(grpc::StatusCode::NOT_FOUND,
                                           absl::StrCat("id: no fence \"", request->id(), "\"")));
  }
  *response = *std::move(fence);
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* FencesService::List(grpc::CallbackServerContext* context,
                                              const v1::ListFencesRequest* request,
                                              v1::ListFencesResponse* response) {
  const absl::StatusOr<size_t> asked =
      PageSizeOf(request->page_size(), options_.default_page_size, options_.max_page_size);
  if (!asked.ok()) return FinishNow(context, asked.status());
  const size_t page_size = *asked;
  std::string after;
  if (!request->page_token().empty()) {
    absl::StatusOr<std::string> decoded = DecodePageToken(request->page_token());
    if (!decoded.ok()) return FinishNow(context, decoded.status());
    after = *std::move(decoded);
  }
  // One more than a page: whether there is a next page at all.
  std::vector<v1::Fence> fences = book_->List(after, page_size + 1);
  const bool more = fences.size() > page_size;
  if (more) fences.resize(page_size);
  for (v1::Fence& fence : fences) *response->add_fences() = std::move(fence);
  if (more && page_size > 0) {
    response->set_next_page_token(EncodePageToken(response->fences(page_size - 1).id()));
  }
  response->set_total_size(book_->size());
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::WatchFencesResponse>* FencesService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchFencesRequest* request) {
  if (static_cast<size_t>(request->fence_ids_size()) > options_.max_watch_fence_ids) {
    return new RejectedWatch(
        InvalidArgument(absl::StrCat("fence_ids: at most ", options_.max_watch_fence_ids,
                                     " ids, got ", request->fence_ids_size())));
  }
  absl::flat_hash_set<std::string> fence_ids;
  for (int i = 0; i < request->fence_ids_size(); ++i) {
    const std::string& id = request->fence_ids(i);
    if (absl::Status s = CheckFenceId(id, absl::StrCat("fence_ids[", i, "]")); !s.ok()) {
      return new RejectedWatch(ToGrpc(s));
    }
    fence_ids.insert(id);
  }
  // The stream's start, taken before its place: once watch_streams()
  // counts it, every event published from then on reaches it.
  const uint64_t start = feed_->last_seq();
  absl::StatusOr<std::shared_ptr<void>> ticket =
      TakeStreamPlace(watch_places_, *watch_callers_, context->peer(), "Fences.Watch");
  if (!ticket.ok()) return new RejectedWatch(ToGrpc(ticket.status()));
  Info("api {} Fences.Watch: {} fence ids", context->peer(), fence_ids.size());
  auto stream = std::make_shared<FenceWatchStream>(feed_.get(), pump_, std::move(fence_ids), start,
                                                   options_.watch, *std::move(ticket));
  stream->Begin();  // the stream owns itself from here
  return stream.get();
}

}  // namespace herd
