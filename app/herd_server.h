#ifndef HERD_APP_HERD_SERVER_H_
#define HERD_APP_HERD_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "api/admin_service.h"
#include "api/locations_service.h"
#include "app/config.h"
#include "app/grpc_limits.h"
#include "app/housekeeper.h"
#include "common/asio.h"
#include "common/clock.h"
#include "common/server_log.h"
#include "edge/edge_server.h"
#include "peer/peering.h"
#include "places/places_provider.h"
#include "store/store.h"

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
                                                            const std::string& name,
                                                            Clock clock);
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
  Store& store() { return *store_; }

  // The admin RPC's answer.
  v1::StatusResponse Status() const;

 private:
  HerdServer(const HerdConfig& config, const ServerConfig& self, Clock clock);
  absl::Status StartGrpc();
  // Starts the chores of the housekeeping thread: forgetting expired
  // clients, counting refusals, probing the gRPC listener.
  void StartHousekeeping();
  void StopServing();

  // Constant after construction.
  const HerdConfig config_;
  const ServerConfig self_;
  const Clock clock_;

  // Destroyed last: they may still hold sessions. io_ runs the acceptor,
  // signals and peer timers on the Run() thread; each worker runs client
  // connections on a thread of its own.
  asio::io_context io_;
  std::vector<std::unique_ptr<asio::io_context>> workers_;
  std::shared_ptr<ServerLog> log_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<PlacesProvider> places_;
  std::unique_ptr<EdgeServer> edge_;
  std::unique_ptr<Peering> peering_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<LocationsService> locations_;
  std::unique_ptr<grpc::Server> grpc_server_;
  asio::signal_set signals_;
  std::unique_ptr<GrpcListenerProbe> listener_probe_;
  std::unique_ptr<Housekeeper> housekeeper_;  // stopped first in StopServing
};

}  // namespace herd

#endif  // HERD_APP_HERD_SERVER_H_
