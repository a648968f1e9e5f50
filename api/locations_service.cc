#include "api/locations_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>

#include <malloc.h>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/location_codec.h"
#include "common/geo.h"
#include "common/strings.h"

namespace herd {
namespace {

// Feed entries the index applies per pump run, and at most before a query.
constexpr size_t kIndexPumpBatch = 4096;
constexpr size_t kIndexSyncMax = 1 << 16;

// A List or Within answer stops growing at about this many bytes (a short
// page with a next token, or `truncated`): well under gRPC's default 4 MiB
// receive limit, which every client (grpcurl too) applies.
constexpr size_t kMaxResponseBytes = 1 << 20;
// A repeated message field costs its tag and length besides the message.
constexpr size_t kFieldOverhead = 6;

// The record `store` holds for the client `client_id` names (checked, as the
// field of that name), or NOT_FOUND naming it.
absl::StatusOr<Record> StoredRecord(const Store& store, const std::string& client_id) {
  if (absl::Status s = CheckClientId(client_id, "client_id"); !s.ok()) return s;
  std::optional<Record> record = store.Get(client_id);
  if (!record) {
    return absl::NotFoundError(
        absl::StrCat("client_id: no location known for \"", client_id, "\""));
  }
  return *std::move(record);
}

// A Watch refused before it started (bad arguments, too many watchers).
class RejectedWatch : public grpc::ServerWriteReactor<v1::WatchResponse> {
 public:
  explicit RejectedWatch(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// Watch streams closed between two returns of freed memory to the system.
constexpr size_t kTrimAfterClosedWatches = 64;

// Runs the location index on the feed pump, and gives freed memory back
// to the system there when asked (malloc_trim takes milliseconds on a big
// heap: never on a gRPC thread). Without it, the memory of thousands of
// closed Watch streams stays with the process.
class IndexReader : public FeedReader {
 public:
  explicit IndexReader(std::shared_ptr<LocationIndex> index) : index_(std::move(index)) {}
  bool Pump() override {
    if (trim_.exchange(false)) malloc_trim(0);
    return !index_->CatchUp(kIndexPumpBatch);
  }
  void RequestTrim() { trim_ = true; }

 private:
  const std::shared_ptr<LocationIndex> index_;
  std::atomic<bool> trim_{false};
};

// One Nearby call: asks the provider and finishes with its answer, or with
// DEADLINE_EXCEEDED / CANCELLED if gRPC cancels the call first (the
// caller's deadline passed). Whichever comes first finishes; the other
// finds `finished_` set and does nothing, so a late answer never touches
// the reactor (which is gone by then).
//
// Thread-safe: the provider may answer on any thread.
class NearbyCall : public grpc::ServerUnaryReactor {
 public:
  NearbyCall(grpc::CallbackServerContext* context, v1::NearbyResponse* response)
      : context_(context), response_(response) {}

  void Start(PlacesProvider* places, const PlacesQuery& query) {
    // The callback holds the flag, not the call: it may outlive the call.
    places->Nearby(query, [this, finished = finished_, query](nlohmann::json answer) {
      if (finished->exchange(true)) return;  // nobody is waiting any more
      CutResults(&answer, query.max_results);
      FillNearby(answer, query.latitude, query.longitude, response_);
      Finish(PlacesStatusToGrpc(response_->status()));
    });
  }

 private:
  void OnCancel() override {
    if (finished_->exchange(true)) return;
    const bool late = context_->deadline() <= std::chrono::system_clock::now();
    Finish(late ? grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                               "the places provider did not answer within the deadline")
                : grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

  grpc::CallbackServerContext* const context_;
  v1::NearbyResponse* const response_;
  const std::shared_ptr<std::atomic<bool>> finished_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

LocationsService::LocationsService(Options options, Store* store, PlacesProvider* places,
                                   ServerLog* log)
    : options_(std::move(options)),
      store_(store),
      places_(places),
      log_(log),
      index_(options_.index != nullptr ? options_.index : std::make_shared<LocationIndex>(store)),
      pump_(FeedPump::Start(store)),
      index_reader_(std::make_shared<IndexReader>(index_)),
      watch_places_(options_.max_watchers),
      watch_callers_(
          std::make_shared<CallerLimiter>(options_.max_watchers_per_caller, kTrimAfterClosedWatches,
                                          [pump = std::weak_ptr<FeedPump>(pump_),
                                           reader = std::weak_ptr<FeedReader>(index_reader_)] {
                                            auto p = pump.lock();
                                            auto r = reader.lock();
                                            if (p == nullptr || r == nullptr) return;
                                            static_cast<IndexReader*>(r.get())->RequestTrim();
                                            p->Schedule(std::move(r));
                                          })) {
  pump_->Add(index_reader_);
  pump_->Schedule(index_reader_);  // what the store held before
}

LocationsService::~LocationsService() { Shutdown(); }

void LocationsService::Shutdown() { pump_->Stop(); }

size_t LocationsService::watchers() const { return watch_places_.taken(); }

void LocationsService::SyncIndex() { index_->CatchUp(kIndexSyncMax); }

grpc::ServerUnaryReactor* LocationsService::Get(grpc::CallbackServerContext* context,
                                                const v1::GetRequest* request,
                                                v1::Location* response) {
  absl::StatusOr<Record> record = StoredRecord(*store_, request->client_id());
  if (!record.ok()) return FinishNow(context, record.status());
  ToLocation(*record, response);
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* LocationsService::List(grpc::CallbackServerContext* context,
                                                 const v1::ListRequest* request,
                                                 v1::ListResponse* response) {
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
  SyncIndex();
  // One more than a page: whether there is a next page at all.
  const std::vector<std::string> ids = index_->IdsAfter(after, page_size + 1);
  const size_t count = std::min(page_size, ids.size());
  size_t bytes = 0;
  size_t listed = 0;  // ids[0, listed) are in this page
  for (; listed < count; ++listed) {
    std::optional<Record> record = store_->Get(ids[listed]);
    if (!record) continue;
    v1::Location location;
    ToLocation(*record, &location);
    const size_t size = location.ByteSizeLong() + kFieldOverhead;
    if (listed > 0 && bytes + size > kMaxResponseBytes) break;  // a short page
    bytes += size;
    *response->add_locations() = std::move(location);
  }
  if (listed < count || ids.size() > page_size) {
    response->set_next_page_token(EncodePageToken(ids[listed - 1]));
  }
  response->set_total_size(store_->size());
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::WatchResponse>* LocationsService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  if (static_cast<size_t>(request->client_ids_size()) > options_.max_watch_client_ids) {
    return new RejectedWatch(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     absl::StrCat("client_ids: at most ", options_.max_watch_client_ids,
                                  " ids, got ", request->client_ids_size())));
  }
  size_t filter_bytes = 0;
  for (const std::string& id : request->client_ids()) filter_bytes += id.size();
  if (filter_bytes > options_.max_watch_filter_bytes) {
    return new RejectedWatch(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     absl::StrCat("client_ids: at most ", options_.max_watch_filter_bytes,
                                  " bytes of ids in all, got ", filter_bytes)));
  }
  absl::flat_hash_set<std::string> client_ids;
  for (int i = 0; i < request->client_ids_size(); ++i) {
    const std::string& id = request->client_ids(i);
    if (absl::Status s = CheckClientId(id, absl::StrCat("client_ids[", i, "]")); !s.ok()) {
      return new RejectedWatch(ToGrpc(s));
    }
    client_ids.insert(id);
  }
  absl::StatusOr<std::shared_ptr<void>> ticket =
      TakeStreamPlace(watch_places_, *watch_callers_, context->peer(), "Watch");
  if (!ticket.ok()) return new RejectedWatch(ToGrpc(ticket.status()));
  log_->Info("api {} Watch: {} client ids, include_current={}", context->peer(), client_ids.size(),
             request->include_current());
  auto stream =
      std::make_shared<WatchStream>(store_, pump_, std::move(client_ids),
                                    request->include_current(), options_.watch, *std::move(ticket));
  stream->Begin();  // the stream owns itself from here
  return stream.get();
}

grpc::ServerUnaryReactor* LocationsService::Report(grpc::CallbackServerContext* context,
                                                   const v1::ReportRequest* request,
                                                   v1::ReportResponse* response) {
  const int64_t received = options_.clock();
  absl::StatusOr<Record> record = RecordFromReport(*request, options_.server_name, received);
  if (record.ok() && IsTooFarAhead(received, record->client_time, options_.max_future_s)) {
    record = absl::InvalidArgumentError(
        absl::StrCat("client_time: ", record->client_time, " is more than max_future_s (",
                     options_.max_future_s, " s) ahead of this server's clock"));
  }
  if (!record.ok()) {
    log_->Info("api {} Report refused: {}", context->peer(), AsStd(record.status().message()));
    return FinishNow(context, record.status());
  }
  Store::FeedPosition position;
  const bool check_fences = options_.fences != nullptr && options_.fences->armed();
  std::optional<Record> replaced;
  const Store::Outcome outcome =
      store_->Apply(*record, {}, &position, check_fences ? &replaced : nullptr);
  if (outcome == Store::Outcome::kRefused) {
    log_->Info("api {} Report refused: too many clients", context->peer());
    return FinishNow(context, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                           absl::StrCat("client_id: this server keeps at most ",
                                                        store_->limits().max_clients,
                                                        " clients (store.max_clients)")));
  }
  const bool accepted = outcome == Store::Outcome::kAccepted;
  if (accepted && check_fences) options_.fences->OnAccepted(record->view(), replaced);
  if (options_.metrics) options_.metrics->CountRecord(ServerMetrics::kApi, accepted);
  response->set_accepted(accepted);
  response->set_at_line(record->AtLine());
  std::optional<Record> stored;
  if (!accepted) stored = store_->Get(record->client_id);
  ToLocation(stored ? *stored : *record, response->mutable_location());
  log_->Info("api {} Report > {}{}", context->peer(), response->at_line(),
             accepted ? "" : " (not newer, kept)");
  if (!accepted || options_.durable == nullptr) return FinishNow(context, grpc::Status::OK);
  // The answer promises the record: it goes once the record is durable.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Store::Cursor needed;
  needed.seen[position.shard] = position.seq;
  options_.durable->WhenDurable(needed, [reactor] { reactor->Finish(grpc::Status::OK); });
  return reactor;
}

grpc::ServerUnaryReactor* LocationsService::Nearby(grpc::CallbackServerContext* context,
                                                   const v1::NearbyRequest* request,
                                                   v1::NearbyResponse* response) {
  if (absl::Status s = CheckClientId(request->client_id(), "client_id"); !s.ok()) {
    return FinishNow(context, s);
  }
  if (absl::Status s = CheckRadius(request->radius_km(), "radius_km"); !s.ok()) {
    return FinishNow(context, s);
  }
  if (absl::Status s = CheckResultCount(request->max_results(), "max_results"); !s.ok()) {
    return FinishNow(context, s);
  }
  absl::StatusOr<Record> record = StoredRecord(*store_, request->client_id());
  if (!record.ok()) return FinishNow(context, record.status());
  if (context->deadline() <= std::chrono::system_clock::now()) {
    return FinishNow(context, grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                           "the deadline passed before the search began"));
  }
  ToLocation(*record, response->mutable_location());
  PlacesQuery query;
  query.latitude = response->location().latitude();
  query.longitude = response->location().longitude();
  query.radius_km = request->radius_km();
  query.max_results = request->max_results();
  log_->Info("api {} Nearby {} {} km, {} results", context->peer(), response->location().at_line(),
             query.radius_km, query.max_results);
  auto* call = new NearbyCall(context, response);  // deletes itself in OnDone
  call->Start(places_, query);
  return call;
}

grpc::ServerUnaryReactor* LocationsService::Within(grpc::CallbackServerContext* context,
                                                   const v1::WithinRequest* request,
                                                   v1::WithinResponse* response) {
  if (absl::Status s = CheckLatitude(request->has_latitude(), request->latitude(), "latitude");
      !s.ok()) {
    return FinishNow(context, s);
  }
  if (absl::Status s = CheckLongitude(request->has_longitude(), request->longitude(), "longitude");
      !s.ok()) {
    return FinishNow(context, s);
  }
  if (absl::Status s = CheckRadius(request->radius_km(), "radius_km"); !s.ok()) {
    return FinishNow(context, s);
  }
  if (request->limit() < 0 || request->limit() > options_.max_within_limit) {
    return FinishNow(context,
                     absl::InvalidArgumentError(absl::StrCat(
                         "limit: must be in [0, ", options_.max_within_limit, "] (0 means ",
                         options_.default_within_limit, "), got ", request->limit())));
  }
  const size_t limit =
      static_cast<size_t>(request->limit() == 0 ? options_.default_within_limit : request->limit());
  SyncIndex();
  const LocationIndex::CircleResult circle =
      index_->Within(request->latitude(), request->longitude(), request->radius_km(), limit);
  size_t total = circle.total;
  size_t bytes = 0;
  for (const LocationIndex::Hit& hit : circle.hits) {
    std::optional<Record> record = store_->Get(hit.client_id);
    double latitude = 0, longitude = 0;
    if (!record || !ParseLocation(record->location, &latitude, &longitude)) {
      --total;  // forgotten (store.client_ttl_s) since the index read it
      continue;
    }
    // The store may already hold a newer position than the index read.
    const double distance =
        HaversineKm(request->latitude(), request->longitude(), latitude, longitude);
    if (distance > request->radius_km()) {
      --total;
      continue;
    }
    v1::ClientDistance client;
    ToLocation(*record, client.mutable_location());
    client.set_distance_km(distance);
    const size_t size = client.ByteSizeLong() + kFieldOverhead;
    if (bytes + size > kMaxResponseBytes) break;  // `truncated` says there is more
    bytes += size;
    *response->add_clients() = std::move(client);
  }
  response->set_total(total);
  response->set_truncated(total > static_cast<size_t>(response->clients_size()));
  return FinishNow(context, grpc::Status::OK);
}

}  // namespace herd
