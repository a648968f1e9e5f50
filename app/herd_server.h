#ifndef HERD_APP_HERD_SERVER_H_
#define HERD_APP_HERD_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "api/admin_service.h"
#include "api/fence_event_feed.h"
#include "api/fences_service.h"
#include "api/locations_service.h"
#include "api/token_auth.h"
#include "app/config.h"
#include "app/grpc_limits.h"
#include "app/health_probe_service.h"
#include "app/housekeeper.h"
#include "app/tls_material.h"
#include "common/asio.h"
#include "common/clock.h"
#include "common/server_log.h"
#include "common/server_metrics.h"
#include "edge/edge_server.h"
#include "edge/edge_tls_front.h"
#include "fences/fence_book.h"
#include "fences/fence_monitor.h"
#include "metrics/family_builder.h"
#include "metrics/grpc_call_counter.h"
#include "metrics/metrics_endpoint.h"
#include "peer/peering.h"
#include "places/places_provider.h"
#include "store/durable_store.h"
#include "store/location_index.h"
#include "store/store.h"
#include "webhooks/webhook_sender.h"

namespace herd {

// One server of the herd, wired: its store, Places provider, log, the text
// edge, peering with its neighbours and the gRPC services (Peer, Admin,
// Locations, health, reflection). The only place that knows every library.
//
// Thread-compatible: Create, Start, Run and Shutdown are called by one owner
// thread; Shutdown may also come from a signal handler on the io_context.
class HerdServer {
 public:
  // Builds server `name` of `config` (loads the gazetteer, opens the log).
  static absl::StatusOr<std::unique_ptr<HerdServer>> Create(const HerdConfig& config,
                                                            const std::string& name, Clock clock);
  HerdServer(const HerdServer&) = delete;
  HerdServer& operator=(const HerdServer&) = delete;
  ~HerdServer();

  // Binds the listening ports and dials the neighbours. A port in use is an
  // error naming it.
  absl::Status Start();

  // Serves until Shutdown() or SIGINT/SIGTERM, on the configured threads,
  // then stops everything in order (edge, peers, gRPC).
  void Run();

  // Ends Run(). Thread-safe.
  void Shutdown();

  tcp::endpoint edge_endpoint() const { return edge_->local_endpoint(); }
  // The TLS edge's address; only with servers[].edge_tls.
  tcp::endpoint edge_tls_endpoint() const { return edge_tls_->local_endpoint(); }
  Store& store() { return *store_; }

  // The admin RPC's answer.
  v1::StatusResponse Status() const;

  // The metrics port; only with servers[].metrics.
  int metrics_port() const { return metrics_endpoint_->port(); }

 private:
  HerdServer(const HerdConfig& config, const ServerConfig& self, Clock clock);
  absl::Status StartGrpc();
  struct NamedService {
    const char* name;  // e.g. "herd.v1.Peer", for per-service health
    grpc::Service* service;
  };
  // Builds and starts one gRPC server on `address` with `services`, health
  // and reflection; null with an error naming `field` if it cannot listen.
  absl::StatusOr<std::unique_ptr<grpc::Server>> StartGrpcServer(
      const HostPort& address, std::string_view field,
      std::shared_ptr<grpc::ServerCredentials> credentials,
      const std::vector<NamedService>& services);
  // Credentials of the grpc port (public services, and Peer unless it has a
  // port of its own) and of the peer port.
  std::shared_ptr<grpc::ServerCredentials> PublicCredentials() const;
  // This server's certificate, for dialling as a TLS client (neighbours,
  // its own listener probe); REQUIRES: tls_.
  std::shared_ptr<grpc::ChannelCredentials> ClientCredentials() const;
  // TLS with this server's certificate; REQUIRES: tls_.
  std::shared_ptr<grpc::ServerCredentials> TlsCredentials(
      grpc_ssl_client_certificate_request_type client_certificates) const;
  std::shared_ptr<grpc::ServerCredentials> PeerPortCredentials() const;
  // With data_dir: opens <data_dir>/<NAME> (an error naming the path if it
  // cannot), makes the store with the epoch it kept (or `fresh_epoch`) and
  // loads it. Without: an empty store with `fresh_epoch`.
  absl::Status MakeStore(uint64_t fresh_epoch);
  // Geofences: the book (loaded from disk with a data_dir), the index
  // roaming fences and the API share, and the monitor both origins of a
  // record call. After MakeStore, before Start.
  absl::Status CreateFences();
  // The durable state a round writes beside the records: the resume book.
  DurableStore::State DurableState() const;
  void AddDurabilityStatus(v1::StatusResponse* status) const;

  // Starts the chores of the housekeeping thread: forgetting expired
  // clients, counting refusals, probing the gRPC listener.
  void StartHousekeeping();
  void StopServing();
  // Metrics (app/herd_server_metrics.cc): the counters, made in Create when
  // servers[].metrics is set; the endpoint, started by Start; and what a
  // scrape reads.
  void CreateMetrics();
  absl::Status StartMetrics();
  void CollectMetrics(FamilyBuilder& out) const;

  // Constant after construction.
  const HerdConfig config_;
  const ServerConfig self_;
  const Clock clock_;
  std::optional<TlsMaterial> tls_;         // set in Create when tls is configured
  std::shared_ptr<TokenAuth> token_auth_;  // set in Create when auth is configured

  // Destroyed last: they may still hold sessions. io_ runs the acceptor,
  // signals and peer timers on the Run() thread; each worker runs client
  // connections on a thread of its own.
  asio::io_context io_;
  std::vector<std::unique_ptr<asio::io_context>> workers_;
  std::shared_ptr<ServerLog> log_;
  // The herd's fences: before the store and the disk (whose last round
  // reads them) and the peers (which listen to them).
  std::unique_ptr<FenceBook> fences_;
  std::unique_ptr<Store> store_;
  // Only with data_dir. Destroyed before the store, whose feed it reads.
  std::unique_ptr<DurableStore> durable_;
  std::unique_ptr<PlacesProvider> places_;
  std::shared_ptr<LocationIndex> location_index_;
  // Where this server's fence events go: its Watch streams' feed and the
  // fences' webhooks. The monitor (which publishes to them) goes first.
  std::shared_ptr<FenceEventFeed> fence_events_;
  std::unique_ptr<WebhookSender> webhooks_;
  std::unique_ptr<FenceMonitor> fence_monitor_;
  std::unique_ptr<EdgeServer> edge_;
  std::unique_ptr<EdgeTlsFront> edge_tls_;  // only with servers[].edge_tls
  std::unique_ptr<Peering> peering_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<LocationsService> locations_;
  std::unique_ptr<FencesService> fences_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<grpc::Server> peer_server_;  // only with servers[].peer
  // Only with servers[].health: plaintext health for probes.
  std::unique_ptr<HealthProbeService> health_probe_;
  std::unique_ptr<grpc::Server> health_server_;
  asio::signal_set signals_;
  std::unique_ptr<GrpcListenerProbe> listener_probe_;
  std::unique_ptr<Housekeeper> housekeeper_;  // stopped first in StopServing
  // Only with servers[].metrics. Null counters: nothing is counted. The
  // endpoint reads everything above, so it goes first (see ~HerdServer).
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<GrpcCallCounter> grpc_calls_;
  std::unique_ptr<MetricsEndpoint> metrics_endpoint_;
};

}  // namespace herd

#endif  // HERD_APP_HERD_SERVER_H_
