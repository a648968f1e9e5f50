#include "edge/edge_server.h"

#include <unistd.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "edge/listen.h"

namespace herd {

EdgeServer::EdgeServer(asio::io_context& io, Options options, Store* store, PlacesProvider* places,
                       std::shared_ptr<ServerLog> log, Clock clock,
                       std::vector<asio::io_context*> workers)
    : io_(io),
      workers_(std::move(workers)),
      max_connections_(options.max_connections),
      context_(std::make_shared<EdgeContext>()),
      acceptor_(asio::make_strand(io)) {
  context_->server_name = options.server_name;
  context_->max_line_bytes = options.max_line_bytes;
  context_->idle_timeout = options.idle_timeout;
  context_->max_future_s = options.max_future_s;
  context_->line_timeout = options.line_timeout;
  context_->per_address = std::make_unique<AddressLimiter>(options.max_connections_per_ip);
  context_->store = store;
  context_->places = places;
  context_->log = std::move(log);
  context_->clock = std::move(clock);
  context_->metrics = options.metrics;
  context_->durable = options.durable;
  context_->fences = options.fences;
}

absl::Status EdgeServer::Start(const tcp::endpoint& endpoint) {
  if (absl::Status s = Listen(&acceptor_, endpoint, "edge"); !s.ok()) return s;
  asio::co_spawn(
      acceptor_.get_executor(), [this] { return AcceptLoop(); }, asio::detached);
  return absl::OkStatus();
}

tcp::endpoint EdgeServer::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void EdgeServer::CloseListener() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void EdgeServer::Stop() {
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
}

asio::awaitable<void> EdgeServer::AcceptLoop() {
  asio::steady_timer backoff(acceptor_.get_executor());
  while (acceptor_.is_open()) {
    // A worker runs on one thread, so its connections need no strand; on the
    // shared io_context (no workers) each connection gets one.
    tcp::socket socket = NewSessionSocket();
    boost::system::error_code ec;
    co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {
      // Typically out of file descriptors: wait a little rather than spin.
      context_->log->Error("accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    StartSession(std::move(socket), peer);
  }
}

tcp::socket EdgeServer::NewSessionSocket() {
  if (workers_.empty()) return tcp::socket(asio::make_strand(io_));
  return tcp::socket(workers_[next_worker_.fetch_add(1) % workers_.size()]->get_executor());
}

void EdgeServer::Adopt(int fd, const tcp::endpoint& peer) {
  tcp::socket socket = NewSessionSocket();
  boost::system::error_code ec;
  socket.assign(peer.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    context_->log->Error("edge: cannot adopt a connection from {}: {}", peer.address().to_string(),
                         ec.message());
    return;
  }
  // The session runs on its worker's thread; this may be another thread.
  asio::post(socket.get_executor(), [this, socket = std::move(socket), peer]() mutable {
    StartSession(std::move(socket), peer);
  });
}

void EdgeServer::StartSession(tcp::socket socket, const tcp::endpoint& peer) {
  const uint64_t id = next_connection_id_.fetch_add(1);
  boost::system::error_code ec;
  if (context_->active_connections.load() >= max_connections_) {
    context_->log->Warn("c{} from {}:{} refused: {} connections open", id,
                        peer.address().to_string(), peer.port(), max_connections_);
    socket.close(ec);
    if (context_->metrics) context_->metrics->connections_refused.Add();
    return;
  }
  if (!context_->per_address->TryAdd(peer.address())) {
    context_->log->Warn("c{} from {}:{} refused: {} connections open from that address", id,
                        peer.address().to_string(), peer.port(),
                        context_->per_address->max_per_address());
    socket.close(ec);
    if (context_->metrics) context_->metrics->connections_refused.Add();
    return;
  }
  if (context_->metrics) context_->metrics->connections_accepted.Add();
  context_->active_connections.fetch_add(1);
  context_->log->Info("c{} from {}:{}", id, peer.address().to_string(), peer.port());
  socket.set_option(tcp::no_delay(true), ec);
  std::make_shared<EdgeSession>(std::move(socket), context_, id, peer.address())->Start();
}

}  // namespace herd
