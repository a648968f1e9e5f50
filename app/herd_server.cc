#include "app/herd_server.h"

#include "fences/durable_fences.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <thread>
#include <utility>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "grpc/health/v1/health.pb.h"
#include "herd/v1/peer.grpc.pb.h"
#include "places/gazetteer.h"
#include "places/offline_provider.h"
#include "places/provider_factory.h"

namespace herd {
namespace {

// The resume book's entries among the durable state, by this prefix.
constexpr std::string_view kResumeKeyPrefix = "book/";

std::map<std::string, std::string> ResumePointsOf(const DurableStore::State& state) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : state) {
    if (key.starts_with(kResumeKeyPrefix)) out[key.substr(kResumeKeyPrefix.size())] = value;
  }
  return out;
}

uint64_t RandomEpoch() {
  std::random_device device;
  return (uint64_t{device()} << 32) | device();
}

absl::StatusOr<std::unique_ptr<PlacesProvider>> MakePlacesProvider(const PlacesSettings& places,
                                                                   ServerLog* log) {
  return CreatePlacesProvider(places, std::getenv(places.api_key_env.c_str()), log);
}

// Leaves gRPC server reflection out of one server (the health port must
// describe nothing).
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    std::erase_if(*plugins, [](const std::unique_ptr<grpc::ServerBuilderPlugin>& plugin) {
      return plugin->name() == "proto_server_reflection";
    });
  }
};

// A restarted server often starts while the process it replaces still lets
// go of its ports (gRPC's shutdown takes a moment): an address in use is
// tried again for kBusyAddressWait before it is an error.
constexpr auto kBusyAddressWait = std::chrono::seconds(2);
constexpr auto kBusyAddressPoll = std::chrono::milliseconds(50);

// Runs `start` until it succeeds, fails otherwise than UNAVAILABLE (the
// status of a busy address), or kBusyAddressWait has passed. Blocks: only
// for Start(), before the server serves.
template <typename Start>
absl::Status RetryWhileBusy(Start start) {
  const auto deadline = std::chrono::steady_clock::now() + kBusyAddressWait;
  for (;;) {
    absl::Status status = start();
    if (status.ok() || !absl::IsUnavailable(status) ||
        std::chrono::steady_clock::now() >= deadline) {
      return status;
    }
    std::this_thread::sleep_for(kBusyAddressPoll);
  }
}

absl::StatusOr<tcp::endpoint> Resolve(asio::io_context& io, const HostPort& address,
                                      std::string_view field) {
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(address.host, std::to_string(address.port),
                                  tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(field), ": cannot resolve ", address.ToString(), ": ", ec.message()));
  }
  return results.begin()->endpoint();
}

void ApplyWatchLimits(const GrpcLimitsConfig& limits, LocationsService::Options* locations) {
  locations->max_watchers = limits.max_watch_streams;
  locations->max_watchers_per_caller = limits.max_watch_streams_per_caller;
  locations->max_watch_client_ids = limits.max_watch_filter_ids;
  locations->max_watch_filter_bytes = limits.max_watch_filter_bytes;
}

// Roaming fences: feed entries the index applies before a lookup, and the
// nearest clients a lookup considers.
constexpr size_t kRoamingIndexSyncMax = 4096;
constexpr size_t kRoamingNearbyMax = 1000;

Store::Limits StoreLimitsOf(const StoreConfig& store, const Clock& clock) {
  Store::Limits limits;
  limits.max_clients = store.max_clients;
  limits.client_ttl_ns = store.client_ttl_s * int64_t{1'000'000'000};
  limits.now = clock;
  return limits;
}

}  // namespace

HerdServer::HerdServer(const HerdConfig& config, const ServerConfig& self, Clock clock)
    : config_(config), self_(self), clock_(std::move(clock)), signals_(io_) {}

HerdServer::~HerdServer() {
  metrics_endpoint_.reset();  // no scrape reads what goes below
  io_.stop();
  for (auto& worker : workers_) worker->stop();
  StopServing();
}

absl::StatusOr<std::unique_ptr<HerdServer>> HerdServer::Create(const HerdConfig& config,
                                                               const std::string& name,
                                                               Clock clock) {
  const ServerConfig* self = config.Find(name);
  if (self == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("NAME: no server \"", name, "\" in ", config.path));
  }
  if (absl::Status s = CheckProtectedMode(config, *self); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(config.path, ": ", s.message()));
  }
  std::unique_ptr<HerdServer> server(new HerdServer(config, *self, std::move(clock)));
  if (config.tls) {
    absl::StatusOr<TlsMaterial> tls = LoadTlsMaterial(*config.tls, name);
    if (!tls.ok()) return tls.status();
    server->tls_ = *std::move(tls);
  }
  absl::StatusOr<std::unique_ptr<ServerLog>> log =
      ServerLog::Open(absl::StrCat(config.log.dir, "/", name, ".log"), config.log.options);
  if (!log.ok()) return log.status();
  server->log_ = *std::move(log);
  absl::StatusOr<std::unique_ptr<PlacesProvider>> places =
      MakePlacesProvider(config.places, server->log_.get());
  if (!places.ok()) return places.status();
  server->places_ = *std::move(places);
  if (absl::Status s = server->MakeStore(RandomEpoch()); !s.ok()) return s;
  if (absl::Status s = server->CreateFences(); !s.ok()) return s;
  server->CreateMetrics();
  EdgeServer::Options edge = config.edge.options;
  edge.server_name = name;
  const uint64_t file_limit = RaiseFileLimit();
  edge.max_connections = EdgeConnectionBudget(config.edge.options.max_connections, file_limit);
  if (edge.max_connections < config.edge.options.max_connections) {
    server->log_->Warn(
        "edge.max_connections lowered to {}: {} file descriptors, {} kept for "
        "gRPC, peers, the log and Places",
        edge.max_connections, file_limit, ReservedFileDescriptors(file_limit));
  }
  edge.max_future_s = config.max_future_s;
  edge.metrics = server->metrics_.get();
  if (server->durable_) edge.durable = server->durable_->mark();
  edge.fences = server->fence_monitor_.get();
  std::vector<asio::io_context*> workers;
  for (int i = 0; i < config.edge.threads; ++i) {
    server->workers_.push_back(std::make_unique<asio::io_context>(1));
    workers.push_back(server->workers_.back().get());
  }
  if (config.auth) {
    server->token_auth_ = std::make_shared<TokenAuth>(*config.auth, server->log_.get());
  }
  server->edge_ =
      std::make_unique<EdgeServer>(server->io_, edge, server->store_.get(), server->places_.get(),
                                   server->log_, server->clock_, std::move(workers));
  if (self->edge_tls) {
    EdgeTlsFront::Options tls;
    tls.certificate_pem = server->tls_->cert_pem;
    tls.private_key_pem = server->tls_->key_pem;
    std::vector<asio::io_context*> tls_workers;
    for (auto& worker : server->workers_) tls_workers.push_back(worker.get());
    server->edge_tls_ = std::make_unique<EdgeTlsFront>(
        server->io_, std::move(tls), server->edge_.get(), server->log_, std::move(tls_workers));
  }
  Peering::Options peering;
  peering.self_name = name;
  for (const std::string& neighbour : config.NeighboursOf(name)) {
    peering.neighbours.push_back({neighbour, config.Find(neighbour)->peer_address().ToString()});
  }
  if (server->tls_) {
    peering.credentials = server->ClientCredentials();
    peering.require_certificates = true;
  }
  peering.clock = server->clock_;
  peering.max_future_s = config.max_future_s;
  peering.metrics = server->metrics_.get();
  peering.fences = server->fences_.get();
  if (server->durable_) {
    peering.resume_points = ResumePointsOf(server->durable_->saved_state());
  }
  server->peering_ = std::make_unique<Peering>(std::move(peering), server->store_.get(),
                                               server->log_.get(), server->io_.get_executor());
  server->admin_ = std::make_unique<AdminService>([s = server.get()] { return s->Status(); });
  LocationsService::Options locations;
  locations.server_name = name;
  locations.clock = server->clock_;
  locations.max_future_s = config.max_future_s;
  ApplyWatchLimits(config.grpc_limits, &locations);
  locations.metrics = server->metrics_.get();
  if (server->durable_) locations.durable = server->durable_->mark();
  locations.fences = server->fence_monitor_.get();
  locations.index = server->location_index_;
  if (server->metrics_) locations.watch.skipped_total = &server->metrics_->watch_skipped;
  server->locations_ = std::make_unique<LocationsService>(
      std::move(locations), server->store_.get(), server->places_.get(), server->log_.get());
  FencesService::Options fences;
  fences.max_watch_streams = config.grpc_limits.max_watch_streams;
  fences.max_watch_streams_per_caller = config.grpc_limits.max_watch_streams_per_caller;
  fences.max_watch_fence_ids = config.grpc_limits.max_watch_filter_ids;
  fences.log = server->log_;
  server->fences_service_ = std::make_unique<FencesService>(
      server->fences_.get(), server->fence_events_, std::move(fences));
  return server;
}

absl::Status HerdServer::CreateFences() {
  FenceBook::Options book;
  book.server_name = self_.name;
  // Not the store's epoch, which a data_dir keeps across restarts: event
  // ids would then repeat after one, and webhook receivers drop repeats.
  book.epoch = RandomEpoch();
  book.max_fences = config_.fences.max_fences;
  book.now_ns = clock_;
  const int64_t deleted_ttl_ns = book.deleted_ttl_ns;
  fences_ = std::make_unique<FenceBook>(std::move(book));
  if (durable_) {
    if (absl::Status s =
            durable_->LoadTable(DurableFences(fences_.get(), clock_(), deleted_ttl_ns));
        !s.ok()) {
      return s;
    }
    log_->Info("fences: {} loaded from {}", fences_->size(), durable_->options().path);
  }
  location_index_ = std::make_shared<LocationIndex>(store_.get());
  // Roaming fences look for the other clients near a report in the index
  // the Locations API keeps, brought up to date first (bounded).
  auto nearby = [index = location_index_](LatLng centre, double radius_m,
                                          FenceBook::NearbyVisitor visit) {
    index->CatchUp(kRoamingIndexSyncMax);
    for (const LocationIndex::Hit& hit :
         index->Within(centre.latitude, centre.longitude, radius_m / 1000, kRoamingNearbyMax)
             .hits) {
      if (!visit(hit.client_id, LatLng{hit.latitude, hit.longitude})) return;
    }
  };
  fence_events_ = std::make_shared<FenceEventFeed>();
  WebhookSender::Options webhooks;
  webhooks.max_queued = config_.fences.webhook_max_queued;
  webhooks.max_attempts = config_.fences.webhook_max_attempts;
  webhooks.timeout = std::chrono::milliseconds(config_.fences.webhook_timeout_ms);
  webhooks.log = log_;
  absl::StatusOr<std::unique_ptr<WebhookSender>> sender = WebhookSender::Create(webhooks);
  if (!sender.ok()) return sender.status();
  webhooks_ = *std::move(sender);
  std::vector<FenceEventSink> sinks;
  sinks.push_back([feed = fence_events_.get()](const std::vector<FiredEvent>& events) {
    feed->Publish(events);
  });
  sinks.push_back([sender = webhooks_.get()](const std::vector<FiredEvent>& events) {
    for (const FiredEvent& fired : events) {
      if (!fired.webhook_url.empty()) sender->Send(fired.event, fired.webhook_url);
    }
  });
  fence_monitor_ =
      std::make_unique<FenceMonitor>(fences_.get(), std::move(nearby), std::move(sinks));
  return absl::OkStatus();
}

absl::Status HerdServer::MakeStore(uint64_t fresh_epoch) {
  if (config_.data_dir.empty()) {
    store_ = std::make_unique<Store>(fresh_epoch, StoreLimitsOf(config_.store, clock_));
    return absl::OkStatus();
  }
  DurableOptions options = config_.durability;
  options.path = (std::filesystem::path(config_.data_dir) / self_.name).string();
  std::error_code error;
  std::filesystem::create_directories(options.path, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.path, ": cannot create the data directory: ", error.message()));
  }
  absl::StatusOr<std::unique_ptr<DurableStore>> durable =
      DurableStore::Open(std::move(options), fresh_epoch);
  if (!durable.ok()) return durable.status();
  durable_ = *std::move(durable);
  store_ = std::make_unique<Store>(durable_->epoch(), StoreLimitsOf(config_.store, clock_));
  if (absl::Status s = durable_->LoadInto(store_.get()); !s.ok()) return s;
  const DurableStore::Stats stats = durable_->stats();
  log_->Info("{}: loaded {} records in {} ms from {} (fsync {}); {}", self_.name,
             stats.records_loaded, stats.load_ms, durable_->options().path,
             FsyncModeName(durable_->options().fsync),
             !durable_->kept_epoch() ? "a first start: new epoch"
             : durable_->clean_stop()
                 ? "the last run stopped cleanly: epoch kept, neighbours resume both ways"
                 : "the last run did not stop cleanly: epoch kept, numbering skips past what "
                   "it may have given unwritten, neighbours resume both ways");
  return absl::OkStatus();
}

DurableStore::State HerdServer::DurableState() const {
  DurableStore::State state;
  for (auto& [sender, point] : peering_->ExportResumePoints()) {
    state[std::string(kResumeKeyPrefix) + sender] = std::move(point);
  }
  return state;
}

void HerdServer::AddDurabilityStatus(v1::StatusResponse* status) const {
  if (durable_ == nullptr) return;
  const DurableStore::Stats stats = durable_->stats();
  status->set_data_dir(durable_->options().path);
  status->set_fsync(FsyncModeName(durable_->options().fsync));
  status->set_epoch_kept(durable_->kept_epoch());
  status->set_records_loaded(stats.records_loaded);
  status->set_load_ms(stats.load_ms);
  status->set_records_written(stats.records_written);
}

absl::Status HerdServer::Start() {
  // The disk follows the feed before anything can be accepted.
  if (durable_) durable_->Start(store_.get(), [this] { return DurableState(); });
  absl::StatusOr<tcp::endpoint> edge = Resolve(io_, self_.edge, "edge");
  if (!edge.ok()) return edge.status();
  if (absl::Status s = RetryWhileBusy([&] { return edge_->Start(*edge); }); !s.ok()) return s;
  log_->Info("{} serving text clients on {}", self_.name, self_.edge.ToString());
  if (edge_tls_ != nullptr) {
    absl::StatusOr<tcp::endpoint> address = Resolve(io_, *self_.edge_tls, "edge_tls");
    if (!address.ok()) return address.status();
    if (absl::Status s = RetryWhileBusy([&] { return edge_tls_->Start(*address); }); !s.ok()) {
      return s;
    }
    log_->Info("{} serving text clients over TLS on {}", self_.name, self_.edge_tls->ToString());
  }
  if (absl::Status s = RetryWhileBusy([&] { return StartGrpc(); }); !s.ok()) return s;
  if (absl::Status s = RetryWhileBusy([&] { return StartMetrics(); }); !s.ok()) return s;
  peering_->Start();
  StartHousekeeping();
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log_->Info("signal {}: shutting down", signal);
    Shutdown();
  });
  return absl::OkStatus();
}

absl::Status HerdServer::StartGrpc() {
  // Reflection describes every service registered here; the health service's
  // descriptor comes from the health.proto compiled into herd_proto, which
  // this reference keeps in the binary.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::EnableDefaultHealthCheckService(true);
  (void)grpc::health::v1::HealthCheckRequest::descriptor();

  const NamedService peer{v1::Peer::service_full_name(), peering_->service()};
  std::vector<NamedService> services = {{v1::Admin::service_full_name(), admin_.get()},
                                        {v1::Locations::service_full_name(), locations_.get()},
                                        {v1::Fences::service_full_name(), fences_service_.get()}};
  if (!self_.peer) services.push_back(peer);
  // Called again while an address is busy: what started stays started.
  absl::StatusOr<std::unique_ptr<grpc::Server>> server;
  if (grpc_server_ == nullptr) {
    server = StartGrpcServer(self_.grpc, "grpc", PublicCredentials(), services);
    if (!server.ok()) return server.status();
    grpc_server_ = *std::move(server);
  }
  if (self_.peer && peer_server_ == nullptr) {
    server = StartGrpcServer(*self_.peer, "peer", PeerPortCredentials(), {peer});
    if (!server.ok()) return server.status();
    peer_server_ = *std::move(server);
  }
  if (self_.health && health_server_ == nullptr) {
    health_probe_ = std::make_unique<HealthProbeService>(
        std::set<std::string>{v1::Admin::service_full_name(), v1::Locations::service_full_name(),
                              v1::Peer::service_full_name()});
    // The probe service stands in for gRPC's own health service here.
    grpc::EnableDefaultHealthCheckService(false);
    server = StartGrpcServer(*self_.health, "health", grpc::InsecureServerCredentials(),
                             {{"grpc.health.v1.Health", health_probe_.get()}});
    grpc::EnableDefaultHealthCheckService(true);
    if (!server.ok()) return server.status();
    health_server_ = *std::move(server);
    health_probe_->set_serving(true);
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ChannelCredentials> HerdServer::ClientCredentials() const {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls_->ca_pem;
  ssl.pem_private_key = tls_->key_pem;
  ssl.pem_cert_chain = tls_->cert_pem;
  return grpc::SslCredentials(ssl);
}

std::shared_ptr<grpc::ServerCredentials> HerdServer::TlsCredentials(
    grpc_ssl_client_certificate_request_type client_certificates) const {
  grpc::SslServerCredentialsOptions ssl(client_certificates);
  ssl.pem_root_certs = tls_->ca_pem;
  ssl.pem_key_cert_pairs.push_back({tls_->key_pem, tls_->cert_pem});
  return grpc::SslServerCredentials(ssl);
}

std::shared_ptr<grpc::ServerCredentials> HerdServer::PublicCredentials() const {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (tls_) {
    // The public services need no client certificate; a neighbour dialling
    // this port presents one, and it must then be valid under the CA.
    credentials = TlsCredentials(self_.peer ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                            : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else if (token_auth_ != nullptr) {
    // Tokens need credentials that run an auth processor; without TLS that
    // is allowed on loopback only (protected mode), which these enforce.
    credentials = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  } else {
    return grpc::InsecureServerCredentials();
  }
  if (token_auth_ != nullptr) credentials->SetAuthMetadataProcessor(token_auth_);
  return credentials;
}

std::shared_ptr<grpc::ServerCredentials> HerdServer::PeerPortCredentials() const {
  if (!tls_) return grpc::InsecureServerCredentials();
  return TlsCredentials(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
}

absl::StatusOr<std::unique_ptr<grpc::Server>> HerdServer::StartGrpcServer(
    const HostPort& address, std::string_view field,
    std::shared_ptr<grpc::ServerCredentials> credentials,
    const std::vector<NamedService>& services) {
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(address.ToString(), std::move(credentials), &bound_port);
  if (field == "health") builder.SetOption(std::make_unique<WithoutReflection>());
  // Without this, gRPC sets SO_REUSEPORT and a second server on the same port
  // would start silently instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  Peering::ConfigureServer(&builder);
  ApplyResourceLimits(&builder, config_.grpc_limits);
  if (grpc_calls_ != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> counting;
    counting.push_back(grpc_calls_->Factory());
    builder.experimental().SetInterceptorCreators(std::move(counting));
  }
  for (const NamedService& service : services) builder.RegisterService(service.service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    return absl::UnavailableError(
        absl::StrCat(AsAbsl(field), " ", address.ToString(), ": cannot listen (address in use?)"));
  }
  if (grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService()) {
    health->SetServingStatus("", true);
    for (const NamedService& service : services) health->SetServingStatus(service.name, true);
  }
  std::string services_text;
  for (const NamedService& service : services) {
    absl::StrAppend(&services_text, services_text.empty() ? "" : ", ", service.name);
  }
  const bool plaintext = !tls_ || field == "health";
  log_->Info("{} serving {} on {} ({}{}): {}", self_.name, field, address.ToString(),
             plaintext ? "plaintext" : "TLS",
             token_auth_ != nullptr && field == "grpc" ? ", bearer tokens" : "", services_text);
  return server;
}

void HerdServer::StartHousekeeping() {
  housekeeper_ = std::make_unique<Housekeeper>();
  if (config_.store.client_ttl_s > 0) {
    // A tenth of the TTL between sweeps, between 100 ms and 10 s.
    const auto interval = std::clamp<std::chrono::milliseconds>(
        std::chrono::milliseconds(config_.store.client_ttl_s * 100), std::chrono::milliseconds(100),
        std::chrono::seconds(10));
    housekeeper_->Add(interval, [this] {
      if (const size_t n = store_->ForgetExpired(); n > 0) {
        log_->Info("store: forgot {} clients not heard of for {} s", n, config_.store.client_ttl_s);
      }
    });
  }
  housekeeper_->Add(
      std::chrono::seconds(10), [this, refused = uint64_t{0}, expired = uint64_t{0}]() mutable {
        if (store_->refused_total() != refused || store_->expired_total() != expired) {
          refused = store_->refused_total();
          expired = store_->expired_total();
          log_->Warn(
              "store: {} new clients refused (store.max_clients {}), {} expired records "
              "dropped, since the start",
              refused, config_.store.max_clients, expired);
        }
      });
  housekeeper_->Add(std::chrono::minutes(1), [this] {
    if (const size_t n = fences_->ForgetDeleted(); n > 0) {
      log_->Info("fences: forgot {} deletions older than a day", n);
    }
  });
  // With TLS the probe speaks it, as this server (so a refused handshake
  // logs nothing every two seconds).
  listener_probe_ = std::make_unique<GrpcListenerProbe>(
      self_.grpc.ToString(), tls_ ? ClientCredentials() : grpc::InsecureChannelCredentials(),
      grpc_server_.get(), log_.get(), std::chrono::seconds(3), tls_ ? self_.name : "");
  housekeeper_->Add(std::chrono::seconds(2), [this] { listener_probe_->Run(); });
  housekeeper_->Start();
}

v1::StatusResponse HerdServer::Status() const {
  v1::StatusResponse status;
  status.set_name(self_.name);
  status.set_epoch(store_->epoch());
  status.set_clients(store_->size());
  for (v1::LinkStatus& link : peering_->Status()) *status.add_links() = std::move(link);
  status.set_records_received_total(peering_->records_received_total());
  status.set_clients_refused_total(store_->refused_total());
  status.set_records_expired_total(store_->expired_total());
  status.set_log_lines_lost_total(log_->lost_lines());
  status.set_watch_streams(locations_->watchers());
  status.set_fences(fences_->size());
  AddDurabilityStatus(&status);
  return status;
}

void HerdServer::StopServing() {
  if (housekeeper_ != nullptr) housekeeper_->Stop();
  // Watch streams end at once instead of holding up the server's Shutdown.
  if (locations_ != nullptr) locations_->Shutdown();
  if (fences_service_ != nullptr) fences_service_->Shutdown();
  if (health_probe_ != nullptr) health_probe_->set_serving(false);
  // The health port last: probes see NOT_SERVING while the others stop.
  for (std::unique_ptr<grpc::Server>* server : {&peer_server_, &grpc_server_, &health_server_}) {
    if (*server == nullptr) continue;
    if (auto* health = (*server)->GetHealthCheckService()) health->Shutdown();
    // Listeners close at once; calls still open (neighbours' Flood streams
    // never end by themselves) are cancelled after a moment.
    (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
    server->reset();
  }
  // Outbound streams after the listeners: cancelling them may take a while.
  if (peering_ != nullptr) peering_->Shutdown();
}

void HerdServer::Run() {
  std::vector<std::thread> threads;
  for (auto& worker : workers_) {
    threads.emplace_back([&worker] {
      auto work = asio::make_work_guard(*worker);
      worker->run();
    });
  }
  io_.run();
  // The ports first, so that a server started next finds them free.
  edge_->CloseListener();
  if (edge_tls_ != nullptr) edge_tls_->CloseListener();
  metrics_endpoint_.reset();
  for (auto& worker : workers_) worker->stop();
  for (std::thread& thread : threads) thread.join();
  StopServing();
  // Everything accepted is written (and fsynced) before a clean stop.
  if (durable_) durable_->Stop();
  log_->Info("{} stopped", self_.name);
  log_->Flush();
}

void HerdServer::Shutdown() {
  edge_->Stop();
  if (edge_tls_ != nullptr) edge_tls_->Stop();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  io_.stop();
}

}  // namespace herd
