#include "app/herd_server.h"

#include <cstdlib>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "places/gazetteer.h"
#include "places/offline_provider.h"

namespace herd {
namespace {

uint64_t RandomEpoch() {
  std::random_device device;
  return (uint64_t{device()} << 32) | device();
}

absl::StatusOr<std::unique_ptr<PlacesProvider>> MakePlacesProvider(
    const PlacesConfig& places, ServerLog* log) {
  const char* key = std::getenv(places.api_key_env.c_str());
  const bool have_key = key != nullptr && *key != '\0';
  if (places.provider == "google" || places.provider == "google-legacy") {
    return absl::InvalidArgumentError(absl::StrCat(
        "places.provider: \"", places.provider,
        "\" is not available in this build; use \"offline\" or \"auto\""));
  }
  if (places.provider == "auto" && have_key) {
    log->Warn("places: {} is set but this build has only the offline provider",
              places.api_key_env);
  }
  absl::StatusOr<std::unique_ptr<Gazetteer>> gazetteer = Gazetteer::Load(places.gazetteer);
  if (!gazetteer.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("places.gazetteer: ", gazetteer.status().message()));
  }
  log->Info("places: offline gazetteer {}", places.gazetteer);
  return std::make_unique<OfflinePlacesProvider>(
      std::shared_ptr<const Gazetteer>(*std::move(gazetteer)));
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

}  // namespace

HerdServer::HerdServer(const HerdConfig& config, const ServerConfig& self, Clock clock)
    : config_(config), self_(self), clock_(std::move(clock)), signals_(io_) {}

HerdServer::~HerdServer() { io_.stop(); }

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
  server->store_ = std::make_unique<Store>(RandomEpoch());
  EdgeServer::Options edge;
  edge.server_name = name;
  edge.max_line_bytes = config.edge.max_line_bytes;
  edge.max_connections = config.edge.max_connections;
  edge.idle_timeout = std::chrono::milliseconds(config.edge.idle_timeout_ms);
  server->edge_ = std::make_unique<EdgeServer>(server->io_, edge, server->store_.get(),
                                               server->places_.get(), server->log_,
                                               server->clock_);
  return server;
}

absl::Status HerdServer::Start() {
  absl::StatusOr<tcp::endpoint> edge = Resolve(io_, self_.edge, "edge");
  if (!edge.ok()) return edge.status();
  if (absl::Status s = edge_->Start(*edge); !s.ok()) return s;
  log_->Info("{} serving text clients on {}", self_.name, self_.edge.ToString());
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log_->Info("signal {}: shutting down", signal);
    Shutdown();
  });
  return absl::OkStatus();
}

void HerdServer::Run() {
  const int extra_threads = std::max(0, config_.edge.threads - 1);
  std::vector<std::thread> threads;
  threads.reserve(extra_threads);
  for (int i = 0; i < extra_threads; ++i) threads.emplace_back([this] { io_.run(); });
  io_.run();
  for (std::thread& thread : threads) thread.join();
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
