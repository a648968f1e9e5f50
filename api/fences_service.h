#ifndef HERD_API_FENCES_SERVICE_H_
#define HERD_API_FENCES_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "api/caller_limiter.h"
#include "api/feed_pump.h"
#include "api/fence_event_feed.h"
#include "api/fence_watch_stream.h"
#include "api/stream_places.h"
#include "common/server_log.h"
#include "fences/fence_book.h"
#include "herd/v1/fences.grpc.pb.h"

namespace herd {

// herd.v1.Fences: set, delete, read and list the herd's fences (on the
// FenceBook), and Watch the events this server fires (cursors over the
// FenceEventFeed, run by a FeedPump). See
// proto/herd/v1/fences.proto for the contract.
//
// Every handler is a callback-API reaction that never blocks: FenceBook
// calls are short lock holds.
//
// Thread-safe. Shutdown() (ends Watch streams) before the grpc::Server
// shuts down; the book and the feed outlive the service.
class FencesService final : public v1::Fences::CallbackService {
 public:
  struct Options {
    size_t max_watch_streams = 1000;            // more: RESOURCE_EXHAUSTED
    size_t max_watch_streams_per_caller = 100;  // per peer address; RESOURCE_EXHAUSTED
    size_t max_watch_fence_ids = 1000;          // more: INVALID_ARGUMENT
    int default_page_size = 100;
    int max_page_size = 1000;
    FenceWatchStream::Options watch;
    std::shared_ptr<ServerLog> log;  // null: no log
  };

  FencesService(FenceBook* book, std::shared_ptr<FenceEventFeed> feed, Options options);
  FencesService(const FencesService&) = delete;
  FencesService& operator=(const FencesService&) = delete;
  ~FencesService() override;

  // Ends every Watch stream (UNAVAILABLE) and stops the pump. Idempotent.
  void Shutdown();

  // Watch streams open now: each counts from when its start in the feed is
  // set until it is done (its place is free again).
  size_t watch_streams() const { return watch_places_.taken(); }

  // List's page token: web-safe base64 of a version tag and the page's last
  // fence id. Decode answers the id to continue after, or INVALID_ARGUMENT
  // naming page_token.
  static std::string EncodePageToken(std::string_view last_id);
  static absl::StatusOr<std::string> DecodePageToken(std::string_view token);

 private:
  grpc::ServerUnaryReactor* Set(grpc::CallbackServerContext* context,
                                const v1::SetFenceRequest* request, v1::Fence* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const v1::DeleteFenceRequest* request,
                                   v1::DeleteFenceResponse* response) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const v1::GetFenceRequest* request, v1::Fence* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const v1::ListFencesRequest* request,
                                 v1::ListFencesResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchFencesResponse>* Watch(
      grpc::CallbackServerContext* context, const v1::WatchFencesRequest* request) override;

  // Logs at info if there is a log.
  template <typename... Args>
  void Info(fmt::format_string<Args...> format, Args&&... args) {
    if (options_.log) options_.log->Info(format, std::forward<Args>(args)...);
  }

  // Constant after construction.
  FenceBook* const book_;
  const std::shared_ptr<FenceEventFeed> feed_;
  const Options options_;
  const std::shared_ptr<FeedPump> pump_;
  StreamPlaces watch_places_;
  const std::shared_ptr<CallerLimiter> watch_callers_;
};

}  // namespace herd

#endif  // HERD_API_FENCES_SERVICE_H_
