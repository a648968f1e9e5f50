#ifndef HERD_PEER_PEERING_H_
#define HERD_PEER_PEERING_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/asio.h"
#include "common/clock.h"
#include "common/server_log.h"
#include "common/server_metrics.h"
#include "fences/fence_book.h"
#include "herd/v1/herd.pb.h"
#include "peer/link_context.h"
#include "peer/peer_link.h"
#include "peer/peer_service.h"
#include "store/record.h"
#include "store/store.h"

namespace herd {

// This server's part in the herd: an outbound PeerLink to every configured
// neighbour (dialled here) and the PeerService that accepts theirs. Accepted
// records reach every neighbour except the one they came from; what a
// neighbour missed while away is read from the store's feed when it returns.
// Fences flood the same way, on the same streams, from the FenceBook: each
// accepted change goes to every neighbour, and every new stream starts with
// the whole fence set (FloodCall).
//
// Thread-safe. Start() once, Shutdown() once before destruction.
class Peering {
 public:
  struct Neighbour {
    std::string name;
    std::string grpc_target;  // "HOST:PORT"
  };
  struct Options {
    std::string self_name;
    std::vector<Neighbour> neighbours;
    size_t max_batch_records = 512;
    std::chrono::milliseconds min_backoff{100};
    std::chrono::milliseconds max_backoff{1000};
    // TLS for outbound streams (null: plaintext). Each neighbour's
    // certificate must then name it: the channel checks the DNS names of
    // the certificate it is shown against the neighbour's name.
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    // Inbound streams must come with a client certificate whose DNS names
    // include the name in their PeerHello (the gRPC server checks that it is
    // valid under the herd's CA).
    bool require_certificates = false;
    // Records from neighbours whose client time is more than max_future_s
    // ahead of `clock` are dropped (and counted).
    Clock clock = RealTimeNanos;
    int64_t max_future_s = kDefaultMaxFutureSeconds;
    ServerMetrics* metrics = nullptr;  // null: metrics off
    // The inbound resume book a previous run kept (PeerService::Options).
    std::map<std::string, std::string> resume_points;
    // The herd's fences, flooded with the records (null: no fences are
    // sent, and neighbours' are dropped). Must outlive the Peering.
    FenceBook* fences = nullptr;
  };

  Peering(Options options, Store* store, ServerLog* log, asio::any_io_executor executor);
  Peering(const Peering&) = delete;
  Peering& operator=(const Peering&) = delete;
  ~Peering();

  // Register with the grpc::ServerBuilder before the server starts.
  grpc::Service* service() { return &service_; }

  // Channel arguments for a gRPC server that serves peers: accept the
  // frequent keepalive pings that notice a dead neighbour in seconds.
  static void ConfigureServer(grpc::ServerBuilder* builder);

  // Dials every neighbour and starts flooding.
  void Start();

  // Stops flooding and dialling, cancels the outbound streams and waits
  // until they have ended and let go of their links (promptly: a cancelled
  // stream ends at once). Inbound streams end with the grpc::Server's
  // Shutdown.
  void Shutdown();

  // Ends every open outbound stream as a network failure would; the links
  // reconnect and resume by themselves. For tests.
  void DropStreamsForTesting();

  // Each link's state and counters (for the admin RPC).
  std::vector<v1::LinkStatus> Status() const;
  uint64_t records_received_total() const { return service_.records_received_total(); }
  // Where each neighbour resumes, as bytes for the disk.
  std::map<std::string, std::string> ExportResumePoints() const {
    return service_.ExportResumePoints();
  }

 private:
  using LinkList = std::vector<std::shared_ptr<PeerLink>>;

  // Constant after construction.
  const LinkContext context_;
  const std::shared_ptr<const LinkList> links_;  // shared with the store listener
  PeerService service_;
  int64_t listener_id_ = 0;        // set in Start, cleared in Shutdown (owner thread)
  int64_t fence_listener_id_ = 0;  // likewise, with a fence book
};

}  // namespace herd

#endif  // HERD_PEER_PEERING_H_
