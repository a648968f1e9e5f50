#ifndef HERD_PEER_PEER_LINK_H_
#define HERD_PEER_PEER_LINK_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/asio.h"
#include "herd/v1/peer.grpc.pb.h"
#include "peer/link_context.h"
#include "store/store.h"

namespace herd {

class FloodCall;

// A point-in-time view of an outbound link, for the admin RPC.
struct LinkSnapshot {
  std::string neighbour;
  bool connected = false;
  std::chrono::system_clock::time_point connected_since;
  std::chrono::system_clock::time_point disconnected_at;  // the last stream's end
  uint64_t reconnects = 0;
  uint64_t records_sent = 0;
  uint64_t fences_sent = 0;
  std::optional<Store::Cursor> acked;  // what the neighbour has applied
  uint64_t catch_up_records = 0;       // feed entries after the resume point at connect
  bool resumed = false;                // the current stream resumed (a delta)
  std::string last_error;
};

// The outbound link to one neighbour: keeps one Flood stream open to it,
// opening a new one (bounded backoff) whenever the last one ends. Each
// stream is a FloodCall that reads the store's feed from where the
// neighbour says it has applied up to (and the fence book's from its
// start), so the link itself holds no records or fences.
//
// Thread-safe. Owned by shared_ptr; its timers' handlers hold it weakly.
// Its calls hold it by pointer: it must outlive them (Stop, then
// AwaitStopped, before it is destroyed). So it, and with it its channel,
// is released by its owner, never last on one of gRPC's threads.
class PeerLink : public std::enable_shared_from_this<PeerLink> {
 public:
  PeerLink(std::string neighbour, std::shared_ptr<grpc::Channel> channel,
           const LinkContext* context, asio::any_io_executor executor);
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  const std::string& neighbour() const { return neighbour_; }

  // Opens the first stream.
  void Start();

  // The store or the fence book accepted something: let the open stream
  // send it.
  void Wake();
  // Wake() at `when` (the open stream's coalescing window ends then). A
  // later call replaces an earlier one.
  void WakeAt(std::chrono::steady_clock::time_point when);

  // Stops retrying and cancels the open stream.
  void Stop();
  // Waits for the stream cancelled by Stop() to end and its FloodCall to be
  // destroyed (this link may then be destroyed). Logs while it waits long.
  void AwaitStopped();

  LinkSnapshot Snapshot() const;

  // Cancels the open stream (the link then reconnects as after a failure).
  void DropStream();

  // The neighbour just opened a stream to us, so it is up: if this link is
  // not connected, dial now instead of waiting out the channel's or the
  // link's backoff. Non-blocking; any thread.
  void Redial();

  // Events from the link's FloodCall.
  // `resume`: where the neighbour said it has applied up to (none: the
  // full state is being sent).
  void OnConnected(const std::optional<Store::Cursor>& resume);
  void OnSent(size_t records, size_t fences);
  void OnAcked(const Store::Cursor& cursor);
  void OnCallDone(const FloodCall* call, const grpc::Status& status, bool was_connected);
  void OnCallDestroyed();

 private:
  void StartCall();
  void ScheduleRetry(std::chrono::milliseconds delay);

  // Constant after construction.
  const std::string neighbour_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::Peer::Stub> stub_;
  const LinkContext* const context_;
  asio::steady_timer retry_timer_;  // used on its strand only
  asio::steady_timer wake_timer_;   // on the same strand

  mutable absl::Mutex mu_;
  std::shared_ptr<FloodCall> call_ ABSL_GUARDED_BY(mu_);  // the open stream
  // FloodCalls created and not yet destroyed (each uses this link).
  int live_calls_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::chrono::milliseconds backoff_ ABSL_GUARDED_BY(mu_);
  LinkSnapshot stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_PEER_PEER_LINK_H_
