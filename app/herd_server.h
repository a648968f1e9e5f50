#ifndef HERD_APP_HERD_SERVER_H_
#define HERD_APP_HERD_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "app/config.h"
#include "common/asio.h"
#include "common/clock.h"
#include "common/server_log.h"
#include "edge/edge_server.h"
#include "places/places_provider.h"
#include "store/store.h"

namespace herd {

// One server of the herd, wired: its store, Places provider, log and edge.
// The only place that knows every library.
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

  // Binds the listening ports. A port in use is an error naming it.
  absl::Status Start();

  // Serves until Shutdown() or SIGINT/SIGTERM, on the configured threads.
  void Run();

  // Stops accepting and ends Run(). Thread-safe.
  void Shutdown();

  tcp::endpoint edge_endpoint() const { return edge_->local_endpoint(); }
  Store& store() { return *store_; }

 private:
  HerdServer(const HerdConfig& config, const ServerConfig& self, Clock clock);

  // Constant after construction.
  const HerdConfig config_;
  const ServerConfig self_;
  const Clock clock_;

  asio::io_context io_;  // destroyed last: it may still hold sessions
  std::shared_ptr<ServerLog> log_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<PlacesProvider> places_;
  std::unique_ptr<EdgeServer> edge_;
  asio::signal_set signals_;
};

}  // namespace herd

#endif  // HERD_APP_HERD_SERVER_H_
