#ifndef HERD_PEER_FLOOD_RECEIVER_H_
#define HERD_PEER_FLOOD_RECEIVER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/server_metrics.h"
#include "common/write_gate.h"
#include "herd/v1/peer.grpc.pb.h"
#include "peer/peer_service.h"
#include "store/record.h"

namespace herd {

// One inbound Flood stream (a gRPC server reactor): PeerHello, then batches
// to apply; answers PeerWelcome, then acknowledgements, one write in flight
// (a newer acknowledgement replaces one not yet sent). A batch marked
// ack_later is applied (and its cursor kept as the sender's resume point)
// but not acknowledged: a later batch's acknowledgement covers it.
//
// Everything about the sender is checked here, once per stream and before
// anything else: its certificate (with require_certificates), that it is a
// neighbour, then each record (well formed, not too far ahead) and each
// fence (valid, its version not too far ahead).
//
// Thread-safe: gRPC runs the reactions one at a time, and the writes are
// guarded by mu_. Owns itself (a self reference released in OnDone), like
// the herd's other reactors.
class FloodReceiver : public grpc::ServerBidiReactor<v1::FloodRequest, v1::FloodResponse>,
                      public std::enable_shared_from_this<FloodReceiver> {
 public:
  // Starts a receiver for the stream of `context` and returns it for gRPC.
  // REQUIRES: `service` outlives the stream (the server's Shutdown ends it).
  static FloodReceiver* Start(PeerService* service, grpc::CallbackServerContext* context);
  FloodReceiver(const FloodReceiver&) = delete;
  FloodReceiver& operator=(const FloodReceiver&) = delete;

 private:
  FloodReceiver(PeerService* service, grpc::CallbackServerContext* context);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

  // Checks the PeerHello and answers it; false if the stream was refused.
  bool Greet();
  // Applies a batch (fences, then records viewed in place in the parsed
  // message, not copied) and acknowledges it unless it is ack_later.
  void ApplyBatch(const v1::FloodRequest& batch);
  // Applies a batch's fences to the fence book, newer-wins; the others
  // are counted as dropped (with a log line).
  void ApplyFences(const v1::FloodRequest& batch, int64_t now);
  // Whether a neighbour's record claims a time too far ahead (see .cc).
  bool TooFarAhead(const RecordView& record, int64_t now) const;
  // Propagation lag of an accepted record: now minus its receive time at
  // its origin (client time plus skew).
  static void ObserveLag(ServerMetrics::Neighbour* neighbour, const RecordView& record,
                         int64_t now_ns);
  // Writes `response` now, or after the write in flight (replacing any
  // acknowledgement still waiting: only the newest matters).
  void Send(v1::FloodResponse response);
  // Finishes with `status` once no write is in flight.
  void FinishWhenIdle(grpc::Status status);

  PeerService* const service_;
  grpc::CallbackServerContext* const context_;
  std::shared_ptr<FloodReceiver> self_;  // keeps the reactor alive until OnDone

  // Used by the reactions only (one at a time).
  v1::FloodRequest request_;  // the one read in flight
  std::string sender_;        // set by PeerHello
  uint64_t sender_epoch_ = 0;
  InboundCounters* counters_ = nullptr;

  absl::Mutex mu_;
  v1::FloodResponse out_ ABSL_GUARDED_BY(mu_);  // the one write in flight
  std::optional<v1::FloodResponse> pending_ ABSL_GUARDED_BY(mu_);
  WriteGate<grpc::Status> gate_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_PEER_FLOOD_RECEIVER_H_
