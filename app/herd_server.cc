#include "app/herd_server.h"

#include <algorithm>
#include <cstdlib>
#include <random>
#include <utility>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"
#include "common/strings.h"
#include "places/gazetteer.h"
#include "places/offline_provider.h"
#include "places/provider_factory.h"

namespace herd {
namespace {

uint64_t RandomEpoch() {
  std::random_device device;
  return (uint64_t{device()} << 32) | device();
}

absl::StatusOr<std::unique_ptr<PlacesProvider>> MakePlacesProvider(
    const PlacesConfig& places, ServerLog* log) {
  PlacesSettings settings;
  settings.provider = places.provider;
  settings.endpoint = places.endpoint;
  settings.api_key_env = places.api_key_env;
  settings.gazetteer = places.gazetteer;
  settings.timeout = std::chrono::milliseconds(places.timeout_ms);
  settings.cache_ttl = std::chrono::milliseconds(places.cache_ttl_ms);
  settings.cache_entries = places.cache_entries;
  settings.max_in_flight = places.max_in_flight;
  settings.max_queued = places.max_queued;
  return CreatePlacesProvider(settings, std::getenv(places.api_key_env.c_str()), log);
}

absl::StatusOr<tcp::endpoint> Resolve(asio::io_context& io, const HostPort& address,
                                      std::string_view field) {
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(address.host, std::to_string(address.port),
                                  tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        AsAbsl(field), ": cannot resolve ", address.ToString(), ": ", ec.message()));
  }
  return results.begin()->endpoint();
}

void ApplyWatchLimits(const GrpcLimitsConfig& limits, LocationsService::Options* locations) {
  locations->max_watchers = limits.max_watch_streams;
  locations->max_watchers_per_caller = limits.max_watch_streams_per_caller;
  locations->max_watch_client_ids = limits.max_watch_filter_ids;
  locations->max_watch_filter_bytes = limits.max_watch_filter_bytes;
}

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
  std::unique_ptr<HerdServer> server(new HerdServer(config, *self, std::move(clock)));
  ServerLog::Options log_options;
  log_options.max_file_bytes = config.log.max_file_bytes;
  log_options.max_files = config.log.max_files;
  absl::StatusOr<std::unique_ptr<ServerLog>> log =
      ServerLog::Open(absl::StrCat(config.log.dir, "/", name, ".log"), log_options);
  if (!log.ok()) return log.status();
  server->log_ = *std::move(log);
  absl::StatusOr<std::unique_ptr<PlacesProvider>> places =
      MakePlacesProvider(config.places, server->log_.get());
  if (!places.ok()) return places.status();
  server->places_ = *std::move(places);
  server->store_ =
      std::make_unique<Store>(RandomEpoch(), StoreLimitsOf(config.store, server->clock_));
  EdgeServer::Options edge;
  edge.server_name = name;
  edge.max_line_bytes = config.edge.max_line_bytes;
  const uint64_t file_limit = RaiseFileLimit();
  edge.max_connections = EdgeConnectionBudget(config.edge.max_connections, file_limit);
  if (edge.max_connections < config.edge.max_connections) {
    server->log_->Warn("edge.max_connections lowered to {}: {} file descriptors, {} kept for "
                       "gRPC, peers, the log and Places",
                       edge.max_connections, file_limit, ReservedFileDescriptors(file_limit));
  }
  edge.idle_timeout = std::chrono::milliseconds(config.edge.idle_timeout_ms);
  edge.line_timeout = std::chrono::milliseconds(config.edge.line_timeout_ms);
  edge.max_connections_per_ip = config.edge.max_connections_per_ip;
  std::vector<asio::io_context*> workers;
  for (int i = 0; i < config.edge.threads; ++i) {
    server->workers_.push_back(std::make_unique<asio::io_context>(1));
    workers.push_back(server->workers_.back().get());
  }
  server->edge_ = std::make_unique<EdgeServer>(server->io_, edge, server->store_.get(),
                                               server->places_.get(), server->log_,
                                               server->clock_, std::move(workers));
  Peering::Options peering;
  peering.self_name = name;
  for (const std::string& neighbour : config.NeighboursOf(name)) {
    peering.neighbours.push_back({neighbour, config.Find(neighbour)->grpc.ToString()});
  }
  server->peering_ = std::make_unique<Peering>(std::move(peering), server->store_.get(),
                                               server->log_.get(), server->io_.get_executor());
  server->admin_ = std::make_unique<AdminService>([s = server.get()] { return s->Status(); });
  LocationsService::Options locations;
  locations.server_name = name;
  locations.clock = server->clock_;
  ApplyWatchLimits(config.grpc_limits, &locations);
  server->locations_ = std::make_unique<LocationsService>(
      std::move(locations), server->store_.get(), server->places_.get(), server->log_.get());
  return server;
}

absl::Status HerdServer::Start() {
  absl::StatusOr<tcp::endpoint> edge = Resolve(io_, self_.edge, "edge");
  if (!edge.ok()) return edge.status();
  if (absl::Status s = edge_->Start(*edge); !s.ok()) return s;
  log_->Info("{} serving text clients on {}", self_.name, self_.edge.ToString());
  if (absl::Status s = StartGrpc(); !s.ok()) return s;
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

  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(self_.grpc.ToString(), grpc::InsecureServerCredentials(),
                           &bound_port);
  // Without this, gRPC sets SO_REUSEPORT and a second server on the same port
  // would start silently instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  Peering::ConfigureServer(&builder);
  ApplyResourceLimits(&builder, config_.grpc_limits);
  builder.RegisterService(peering_->service());
  builder.RegisterService(admin_.get());
  builder.RegisterService(locations_.get());
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || bound_port == 0) {
    grpc_server_.reset();
    return absl::UnavailableError(
        absl::StrCat("grpc ", self_.grpc.ToString(), ": cannot listen (address in use?)"));
  }
  grpc::HealthCheckServiceInterface* health = grpc_server_->GetHealthCheckService();
  for (const char* service : {"", "herd.v1.Peer", "herd.v1.Admin", "herd.v1.Locations"}) {
    health->SetServingStatus(service, true);
  }
  log_->Info("{} serving gRPC on {}", self_.name, self_.grpc.ToString());
  return absl::OkStatus();
}

void HerdServer::StartHousekeeping() {
  housekeeper_ = std::make_unique<Housekeeper>();
  if (config_.store.client_ttl_s > 0) {
    // A tenth of the TTL between sweeps, between 100 ms and 10 s.
    const auto interval = std::clamp<std::chrono::milliseconds>(
        std::chrono::milliseconds(config_.store.client_ttl_s * 100),
        std::chrono::milliseconds(100), std::chrono::seconds(10));
    housekeeper_->Add(interval, [this] {
      if (const size_t n = store_->ForgetExpired(); n > 0) {
        log_->Info("store: forgot {} clients not heard of for {} s", n,
                   config_.store.client_ttl_s);
      }
    });
  }
  housekeeper_->Add(std::chrono::seconds(10), [this, refused = uint64_t{0},
                                               expired = uint64_t{0}]() mutable {
    if (store_->refused_total() != refused || store_->expired_total() != expired) {
      refused = store_->refused_total();
      expired = store_->expired_total();
      log_->Warn("store: {} new clients refused (store.max_clients {}), {} expired records "
                 "dropped, since the start",
                 refused, config_.store.max_clients, expired);
    }
  });
  listener_probe_ = std::make_unique<GrpcListenerProbe>(
      self_.grpc.ToString(), grpc::InsecureChannelCredentials(), grpc_server_.get(), log_.get());
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
  return status;
}

void HerdServer::StopServing() {
  if (housekeeper_ != nullptr) housekeeper_->Stop();
  if (peering_ != nullptr) peering_->Shutdown();
  // Watch streams end at once instead of holding up the server's Shutdown.
  if (locations_ != nullptr) locations_->Shutdown();
  if (grpc_server_ != nullptr) {
    grpc_server_->GetHealthCheckService()->Shutdown();
    grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc_server_.reset();
  }
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
  for (auto& worker : workers_) worker->stop();
  for (std::thread& thread : threads) thread.join();
  StopServing();
  log_->Info("{} stopped", self_.name);
  log_->Flush();
}

void HerdServer::Shutdown() {
  edge_->Stop();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  io_.stop();
}

}  // namespace herd
