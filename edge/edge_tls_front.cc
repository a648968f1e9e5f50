#include "edge/edge_tls_front.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "edge/listen.h"

namespace herd {

// One TLS connection: the handshake, then two pumps, TLS -> pair (what the
// client sends) and pair -> TLS (the session's replies), on one strand. The
// client's end of input becomes a half-close of the pair, so the session
// answers a last line without '\n' as on the plain edge; the session's
// close ends the TLS stream with close_notify. Owns itself through its
// coroutines.
class EdgeTlsFront::Bridge : public std::enable_shared_from_this<Bridge> {
 public:
  Bridge(tcp::socket socket, asio::ssl::context& ssl, EdgeServer* edge,
         std::shared_ptr<ServerLog> log, std::chrono::milliseconds timeout,
         std::shared_ptr<std::atomic<size_t>> handshaking)
      : tls_(std::move(socket), ssl),
        pair_(tls_.get_executor()),
        edge_(edge),
        log_(std::move(log)),
        timeout_(timeout),
        handshaking_(std::move(handshaking)),
        handshake_timer_(tls_.get_executor()) {}

  void Start() {
    asio::co_spawn(
        tls_.get_executor(), [self = shared_from_this()] { return self->Run(); }, asio::detached);
  }

 private:
  asio::awaitable<void> Run() {
    boost::system::error_code ec;
    const tcp::endpoint peer = tls_.lowest_layer().remote_endpoint(ec);
    handshake_timer_.expires_after(timeout_);
    handshake_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->Close();  // no handshake in time
    });
    co_await tls_.async_handshake(asio::ssl::stream_base::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
    handshake_timer_.cancel();
    handshaking_->fetch_sub(1);
    if (ec) {
      log_->Info("edge_tls: handshake with {} failed: {}", peer.address().to_string(),
                 ec.message());
      Close();
      co_return;
    }
    // The pair only now: a connection that never completes its handshake
    // holds one descriptor, not three.
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
      log_->Error("edge_tls: no socket pair for {}: {}", peer.address().to_string(),
                  std::strerror(errno));
      Close();
      co_return;
    }
    pair_.assign(asio::local::stream_protocol(), ends[0], ec);
    edge_->Adopt(ends[1], peer);
    asio::co_spawn(
        tls_.get_executor(), [self = shared_from_this()] { return self->Replies(); },
        asio::detached);
    std::array<char, 4 << 10> buffer;
    for (;;) {
      const size_t n = co_await tls_.async_read_some(asio::buffer(buffer),
                                                     asio::redirect_error(asio::use_awaitable, ec));
      if (n > 0) {
        boost::system::error_code write_error;
        co_await asio::async_write(pair_, asio::buffer(buffer.data(), n),
                                   asio::redirect_error(asio::use_awaitable, write_error));
        if (write_error) break;
      }
      if (ec || closing_) break;
    }
    // The client is done sending (close_notify, EOF or an error): the session
    // sees end of input, answers what it has, and closes its end.
    pair_.shutdown(asio::socket_base::shutdown_send, ec);
  }

  asio::awaitable<void> Replies() {
    std::array<char, 4 << 10> buffer;
    boost::system::error_code ec;
    for (;;) {
      const size_t n = co_await pair_.async_read_some(
          asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
      if (n > 0) {
        boost::system::error_code write_error;
        co_await asio::async_write(tls_, asio::buffer(buffer.data(), n),
                                   asio::redirect_error(asio::use_awaitable, write_error));
        if (write_error) break;
      }
      if (ec) break;
    }
    // The session closed: end the TLS stream properly (close_notify), but
    // never wait long. The reader stops first: one shutdown, no read beside it.
    closing_ = true;
    tls_.lowest_layer().cancel(ec);
    handshake_timer_.expires_after(timeout_);
    handshake_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->Close();
    });
    co_await tls_.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    Close();
  }

  void Close() {
    boost::system::error_code ignored;
    handshake_timer_.cancel();
    tls_.lowest_layer().close(ignored);
    pair_.close(ignored);
  }

  asio::ssl::stream<tcp::socket> tls_;
  asio::local::stream_protocol::socket pair_;
  EdgeServer* const edge_;
  const std::shared_ptr<ServerLog> log_;
  const std::chrono::milliseconds timeout_;
  const std::shared_ptr<std::atomic<size_t>> handshaking_;
  asio::steady_timer handshake_timer_;
  bool closing_ = false;  // the session is gone; on the strand
};

EdgeTlsFront::EdgeTlsFront(asio::io_context& io, Options options, EdgeServer* edge,
                           std::shared_ptr<ServerLog> log, std::vector<asio::io_context*> workers)
    : io_(io),
      workers_(std::move(workers)),
      options_(std::move(options)),
      edge_(edge),
      log_(std::move(log)),
      ssl_(asio::ssl::context::tls_server),
      acceptor_(asio::make_strand(io)) {}

absl::Status EdgeTlsFront::Start(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  ssl_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1,
                   ec);
  if (!ec) {
    ssl_.use_certificate_chain(
        asio::buffer(options_.certificate_pem.data(), options_.certificate_pem.size()), ec);
  }
  if (!ec) {
    ssl_.use_private_key(
        asio::buffer(options_.private_key_pem.data(), options_.private_key_pem.size()),
        asio::ssl::context::pem, ec);
  }
  if (ec) return absl::InvalidArgumentError(absl::StrCat("edge_tls: ", ec.message()));
  if (absl::Status s = Listen(&acceptor_, endpoint, "edge_tls"); !s.ok()) return s;
  asio::co_spawn(
      acceptor_.get_executor(), [this] { return AcceptLoop(); }, asio::detached);
  return absl::OkStatus();
}

tcp::endpoint EdgeTlsFront::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void EdgeTlsFront::CloseListener() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void EdgeTlsFront::Stop() {
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
}

asio::awaitable<void> EdgeTlsFront::AcceptLoop() {
  asio::steady_timer backoff(acceptor_.get_executor());
  while (acceptor_.is_open()) {
    // Each connection on a strand of the next worker (one thread each).
    auto strand =
        asio::make_strand(workers_.empty() ? io_ : *workers_[next_worker_++ % workers_.size()]);
    tcp::socket socket(strand);
    boost::system::error_code ec;
    co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {
      // Typically out of file descriptors: wait a little rather than spin.
      log_->Error("edge_tls: accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (handshaking_->fetch_add(1) >= options_.max_handshakes) {
      handshaking_->fetch_sub(1);
      log_->Warn("edge_tls: refused {}: {} handshakes under way",
                 socket.remote_endpoint(ec).address().to_string(), options_.max_handshakes);
      socket.close(ec);
      continue;
    }
    std::make_shared<Bridge>(std::move(socket), ssl_, edge_, log_, options_.handshake_timeout,
                             handshaking_)
        ->Start();
  }
}

}  // namespace herd
