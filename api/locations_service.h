#ifndef HERD_API_LOCATIONS_SERVICE_H_
#define HERD_API_LOCATIONS_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>
#include <string>

#include "api/caller_limiter.h"
#include "api/feed_pump.h"
#include "api/stream_places.h"
#include "api/watch_stream.h"
#include "common/clock.h"
#include "common/server_log.h"
#include "common/server_metrics.h"
#include "fences/fence_monitor.h"
#include "herd/v1/locations.grpc.pb.h"
#include "places/places_provider.h"
#include "store/durable_mark.h"
#include "store/location_index.h"
#include "store/record.h"
#include "store/store.h"

namespace herd {

// herd.v1.Locations: the public query API (see proto/herd/v1/locations.proto
// and docs/locations.md). Get and Report work on the store directly; List
// and Within on a LocationIndex kept up to date from the store's feed;
// Watch streams are feed cursors; Nearby asks the Places provider without
// blocking a gRPC thread. The index and the Watch streams are run by a
// FeedPump thread, so the thread that applies a record never waits for them.
//
// Every handler is a callback-API reaction that never blocks: store and
// index calls are short lock holds, the provider answers through a callback.
//
// Thread-safe. Shutdown() (ends Watch streams, stops the pump) before the
// grpc::Server shuts down; the store, provider and log outlive the service.
class LocationsService final : public v1::Locations::CallbackService {
 public:
  struct Options {
    std::string server_name;  // the origin of Reports
    Clock clock;              // their receive time
    // A Report's client time may be at most this far ahead.
    int64_t max_future_s = kDefaultMaxFutureSeconds;
    int default_page_size = 100;
    int max_page_size = 1000;
    int default_within_limit = 100;
    int max_within_limit = 1000;
    size_t max_watchers = 1000;                // more: RESOURCE_EXHAUSTED
    size_t max_watchers_per_caller = 100;      // per peer address; RESOURCE_EXHAUSTED
    size_t max_watch_client_ids = 1000;        // more: INVALID_ARGUMENT
    size_t max_watch_filter_bytes = 64 << 10;  // the ids' total size; INVALID_ARGUMENT
    ServerMetrics* metrics = nullptr;          // null: metrics off
    WatchStream::Options watch;
    // With a data_dir: a Report's answer waits until its record is durable
    // (finished from the persister's thread). Null: memory only.
    DurableMark* durable = nullptr;
    // Geofences: an accepted Report is checked against them. Null: none.
    const FenceMonitor* fences = nullptr;
    // The index List and Within read (shared with roaming fences); null:
    // the service makes its own.
    std::shared_ptr<LocationIndex> index;
  };

  LocationsService(Options options, Store* store, PlacesProvider* places, ServerLog* log);
  LocationsService(const LocationsService&) = delete;
  LocationsService& operator=(const LocationsService&) = delete;
  ~LocationsService() override;

  // Ends every Watch stream (UNAVAILABLE) and stops the pump. Idempotent.
  void Shutdown();

  // Watch streams open now: each counts from when it took its place until
  // it is done.
  size_t watchers() const;

 private:
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context, const v1::GetRequest* request,
                                v1::Location* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const v1::ListRequest* request,
                                 v1::ListResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(grpc::CallbackServerContext* context,
                                                     const v1::WatchRequest* request) override;
  grpc::ServerUnaryReactor* Report(grpc::CallbackServerContext* context,
                                   const v1::ReportRequest* request,
                                   v1::ReportResponse* response) override;
  grpc::ServerUnaryReactor* Nearby(grpc::CallbackServerContext* context,
                                   const v1::NearbyRequest* request,
                                   v1::NearbyResponse* response) override;
  grpc::ServerUnaryReactor* Within(grpc::CallbackServerContext* context,
                                   const v1::WithinRequest* request,
                                   v1::WithinResponse* response) override;

  // Applies what the store accepted since the index last read the feed, so
  // that a query sees this server's own recent writes (bounded: the pump
  // does the rest if it is far behind).
  void SyncIndex();

  // Constant after construction.
  const Options options_;
  Store* const store_;
  PlacesProvider* const places_;
  ServerLog* const log_;
  const std::shared_ptr<LocationIndex> index_;
  const std::shared_ptr<FeedPump> pump_;
  const std::shared_ptr<FeedReader> index_reader_;  // runs index_ on the pump
  StreamPlaces watch_places_;
  const std::shared_ptr<CallerLimiter> watch_callers_;
};

}  // namespace herd

#endif  // HERD_API_LOCATIONS_SERVICE_H_
