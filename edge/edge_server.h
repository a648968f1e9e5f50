#ifndef HERD_EDGE_EDGE_SERVER_H_
#define HERD_EDGE_EDGE_SERVER_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/asio.h"
#include "common/clock.h"
#include "common/server_log.h"
#include "edge/edge_options.h"
#include "edge/edge_session.h"
#include "places/places_provider.h"
#include "store/durable_mark.h"
#include "store/store.h"

namespace herd {

// The TCP edge: accepts text clients and answers IAMAT and WHATSAT (spec
// section 3), one C++20 coroutine pair per connection, serialised by its
// worker's single thread (or a strand on a shared io_context). The
// acceptor runs on one io_context; connections are spread round-robin over
// the `workers` io_contexts (each must be run by exactly one thread, so a
// connection never wakes another thread), or run on the acceptor's if there
// are none.
//
// Every connection is bounded: a line longer than max_line_bytes is answered
// with "? " and its first max_line_bytes bytes, the rest of it discarded; a
// connection idle (no read or write progress) for idle_timeout is closed, and
// so is one whose line is not complete line_timeout after its first byte;
// connections beyond max_connections, or beyond max_connections_per_ip from
// one address, are closed at once.
//
// Thread-safe. Start() and Stop() may be called from any thread; the store,
// provider and log must outlive the io_context's last handler.
class EdgeServer {
 public:
  using Options = EdgeOptions;

  EdgeServer(asio::io_context& io, Options options, Store* store, PlacesProvider* places,
             std::shared_ptr<ServerLog> log, Clock clock,
             std::vector<asio::io_context*> workers = {});
  EdgeServer(const EdgeServer&) = delete;
  EdgeServer& operator=(const EdgeServer&) = delete;

  // Binds and starts accepting. An address in use is an error naming it.
  absl::Status Start(const tcp::endpoint& endpoint);

  // The bound address (port 0 in Start() picks a free one).
  tcp::endpoint local_endpoint() const;

  // Stops accepting. Open connections end when the io_context stops.
  void Stop();

  // Closes the listening socket at once, so that the port is free for a
  // server started next. REQUIRES: the io_context passed at construction
  // is not running (Stop() posts, and a stopped io_context may never run
  // what was posted).
  void CloseListener();

  size_t active_connections() const { return context_->active_connections.load(); }

  // Serves a connection accepted elsewhere (the TLS front's plaintext end of
  // a socket pair) as if accepted here: same limits, log and threads.
  // `peer` is the client's address, for the log. Takes ownership of `fd`.
  void Adopt(int fd, const tcp::endpoint& peer);

 private:
  asio::awaitable<void> AcceptLoop();
  // A socket on the next worker's executor (round-robin), or on a strand of
  // the shared io_context if there are no workers.
  tcp::socket NewSessionSocket();
  void StartSession(tcp::socket socket, const tcp::endpoint& peer);

  // Constant after construction.
  asio::io_context& io_;
  const std::vector<asio::io_context*> workers_;
  const size_t max_connections_;
  const std::shared_ptr<EdgeContext> context_;  // shared with every session

  tcp::acceptor acceptor_;  // on its own strand
  std::atomic<uint64_t> next_connection_id_{1};
  std::atomic<size_t> next_worker_{0};
};

}  // namespace herd

#endif  // HERD_EDGE_EDGE_SERVER_H_
