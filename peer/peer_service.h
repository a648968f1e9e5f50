#ifndef HERD_PEER_PEER_SERVICE_H_
#define HERD_PEER_PEER_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/clock.h"
#include "common/server_log.h"
#include "common/server_metrics.h"
#include "fences/fence_book.h"
#include "herd/v1/peer.grpc.pb.h"
#include "peer/resume_book.h"
#include "store/record.h"
#include "store/store.h"

namespace herd {

// Counters of what arrives from one neighbour.
struct InboundCounters {
  std::atomic<uint64_t> records_received{0};
  std::atomic<uint64_t> records_accepted{0};
  std::atomic<uint64_t> records_rejected{0};       // malformed
  std::atomic<uint64_t> records_too_far_ahead{0};  // client time beyond max_future_s
  std::atomic<uint64_t> fences_received{0};
  std::atomic<uint64_t> fences_accepted{0};  // newer than what this server held
  // Invalid, refused (max_fences held), too far ahead, or no fence book.
  std::atomic<uint64_t> fences_dropped{0};
  std::atomic<int> open_streams{0};
  std::atomic<int64_t> last_closed_ns{0};  // system clock, when a stream last closed
};

// The server side of herd.v1.Peer: accepts Flood streams from configured
// neighbours (and refuses anyone else: with require_certificates, a caller
// whose TLS client certificate does not name the neighbour it claims to be),
// applies their records to the store and their fences to the fence book,
// and tells each where to resume (ResumeBook).
//
// Thread-safe. Must outlive the grpc::Server it is registered with (the
// server's Shutdown ends every stream).
class PeerService final : public v1::Peer::CallbackService {
 public:
  struct Options {
    std::string self_name;
    uint64_t epoch = 0;
    std::vector<std::string> neighbours;
    bool require_certificates = false;
    Clock clock = RealTimeNanos;
    int64_t max_future_s = kDefaultMaxFutureSeconds;
    // Called (on a gRPC thread, must not block) when a neighbour's stream
    // is accepted: it is up, so this server's link to it may redial now.
    std::function<void(const std::string& neighbour)> on_accepted;
    ServerMetrics* metrics = nullptr;  // null: metrics off
    // The resume book a previous run kept (ResumeBook::Export).
    std::map<std::string, std::string> resume_points;
    // Where neighbours' fences go (null: they are dropped and counted).
    FenceBook* fences = nullptr;
  };

  PeerService(Options options, Store* store, ServerLog* log);
  PeerService(const PeerService&) = delete;
  PeerService& operator=(const PeerService&) = delete;

  // Counters for `neighbour`, or null if it is not one.
  const InboundCounters* counters(const std::string& neighbour) const;
  uint64_t records_received_total() const;

  // The resume book, for the disk (ResumeBook::Export).
  std::map<std::string, std::string> ExportResumePoints() const { return resume_book_.Export(); }

 private:
  // The stream reads the service's settings, book and counters.
  friend class FloodReceiver;

  grpc::ServerBidiReactor<v1::FloodRequest, v1::FloodResponse>* Flood(
      grpc::CallbackServerContext* context) override;

  // Refuses the stream unless its caller's certificate names `name`; true
  // if it may go on.
  bool CallerIs(grpc::CallbackServerContext* context, const std::string& name) const;

  // Constant after construction.
  const std::string self_name_;
  const uint64_t epoch_;
  const bool require_certificates_;
  const Clock clock_;
  const int64_t max_future_s_;
  const std::function<void(const std::string&)> on_accepted_;
  ServerMetrics* const metrics_;
  Store* const store_;
  FenceBook* const fences_;
  ServerLog* const log_;
  std::map<std::string, std::unique_ptr<InboundCounters>> counters_;  // by neighbour

  ResumeBook resume_book_;
};

}  // namespace herd

#endif  // HERD_PEER_PEER_SERVICE_H_
