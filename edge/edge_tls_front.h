#ifndef HERD_EDGE_EDGE_TLS_FRONT_H_
#define HERD_EDGE_EDGE_TLS_FRONT_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

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
// log, and the plain edge pays nothing for TLS. A connection costs three
// descriptors (the TLS socket and the pair) and the pump's two buffers.
//
// Thread-safe like EdgeServer: Start() and Stop() from any thread; the
// EdgeServer and log must outlive the io_context's last handler.
class EdgeTlsFront {
 public:
  struct Options {
    std::string certificate_pem;  // the server's certificate (chain)
    std::string private_key_pem;
    std::chrono::milliseconds handshake_timeout{10'000};
  };

  EdgeTlsFront(asio::io_context& io, Options options, EdgeServer* edge,
               std::shared_ptr<ServerLog> log);
  EdgeTlsFront(const EdgeTlsFront&) = delete;
  EdgeTlsFront& operator=(const EdgeTlsFront&) = delete;

  // Loads the certificate, binds and starts accepting; errors name the
  // address or say what is wrong with the certificate.
  absl::Status Start(const tcp::endpoint& endpoint);

  tcp::endpoint local_endpoint() const;

  // Stops accepting. Open connections end when the io_context stops.
  void Stop();

 private:
  class Bridge;

  asio::awaitable<void> AcceptLoop();

  asio::io_context& io_;
  const Options options_;
  EdgeServer* const edge_;
  const std::shared_ptr<ServerLog> log_;
  asio::ssl::context ssl_;
  tcp::acceptor acceptor_;  // on its own strand
};

}  // namespace herd

#endif  // HERD_EDGE_EDGE_TLS_FRONT_H_
