#ifndef HERD_EDGE_EDGE_TLS_FRONT_H_
#define HERD_EDGE_EDGE_TLS_FRONT_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl.hpp>

#include "absl/status/status.h"
#include "common/asio.h"
#include "common/server_log.h"
#include "edge/edge_server.h"

namespace herd {

// The text protocol over TLS (servers[].edge_tls): accepts TLS connections,
// completes each handshake (within handshake_timeout), and hands the
// connection's plaintext to the EdgeServer as an ordinary session over a
// socket pair, with a pump copying bytes between the TLS stream and the
// pair. So there is one implementation of the protocol, its limits and its
// log, and the plain edge pays nothing for TLS. A connection costs one
// descriptor until its handshake is done, three after (the TLS socket and
// the pair), and the pump's two buffers; at most max_handshakes wait for
// their handshake (more are closed at once), and the EdgeServer's
// max_connections bounds the rest. Connections run on the worker
// io_contexts (round-robin), like the plain edge's.
//
// Thread-safe like EdgeServer: Start() and Stop() from any thread; the
// EdgeServer and log must outlive the io_contexts' last handlers.
class EdgeTlsFront {
 public:
  struct Options {
    std::string certificate_pem;  // the server's certificate (chain)
    std::string private_key_pem;
    std::chrono::milliseconds handshake_timeout{5'000};
    size_t max_handshakes = 256;
  };

  // `workers` as for EdgeServer (none: connections run on `io`).
  EdgeTlsFront(asio::io_context& io, Options options, EdgeServer* edge,
               std::shared_ptr<ServerLog> log, std::vector<asio::io_context*> workers = {});
  EdgeTlsFront(const EdgeTlsFront&) = delete;
  EdgeTlsFront& operator=(const EdgeTlsFront&) = delete;

  // Loads the certificate, binds and starts accepting; errors name the
  // address or say what is wrong with the certificate.
  absl::Status Start(const tcp::endpoint& endpoint);

  tcp::endpoint local_endpoint() const;

  // Stops accepting. Open connections end when the io_context stops.
  void Stop();

  // Closes the listening socket at once, so that the port is free for a
  // server started next. REQUIRES: the io_context passed at construction
  // is not running (Stop() posts, and a stopped io_context may never run
  // what was posted).
  void CloseListener();

 private:
  class Bridge;

  asio::awaitable<void> AcceptLoop();

  asio::io_context& io_;
  const std::vector<asio::io_context*> workers_;
  const Options options_;
  EdgeServer* const edge_;
  const std::shared_ptr<ServerLog> log_;
  asio::ssl::context ssl_;
  tcp::acceptor acceptor_;  // on its own strand
  size_t next_worker_ = 0;  // the accept loop's
  // Connections still in their handshake; shared with each Bridge.
  const std::shared_ptr<std::atomic<size_t>> handshaking_ =
      std::make_shared<std::atomic<size_t>>(0);
};

}  // namespace herd

#endif  // HERD_EDGE_EDGE_TLS_FRONT_H_
