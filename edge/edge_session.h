#ifndef HERD_EDGE_EDGE_SESSION_H_
#define HERD_EDGE_EDGE_SESSION_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/asio.h"
#include "common/clock.h"
#include "common/server_log.h"
#include "common/server_metrics.h"
#include "edge/address_limiter.h"
#include "edge/line_framer.h"
#include "edge/protocol.h"
#include "fences/fence_monitor.h"
#include "places/places_provider.h"
#include "store/durable_mark.h"
#include "store/store.h"

namespace herd {

// What every connection of one EdgeServer shares. Shared by the server and its
// sessions, since a session may be destroyed after the server (when the
// io_context is); the store and provider are only used by running sessions.
struct EdgeContext {
  std::string server_name;
  size_t max_line_bytes = 0;
  std::chrono::milliseconds idle_timeout{0};
  int64_t max_future_s = kDefaultMaxFutureSeconds;
  // How long a line may take from its first byte to its '\n' (like nginx's
  // client_header_timeout): a client trickling bytes cannot hold a slot.
  std::chrono::milliseconds line_timeout{0};
  Store* store = nullptr;
  PlacesProvider* places = nullptr;
  std::shared_ptr<ServerLog> log;
  Clock clock;
  std::atomic<size_t> active_connections{0};
  std::unique_ptr<AddressLimiter> per_address;  // never null
  ServerMetrics* metrics = nullptr;             // null: metrics off (no counting at all)
  DurableMark* durable = nullptr;               // null: replies need not wait for the disk
  const FenceMonitor* fences = nullptr;         // null: no geofences
};

// One text client's connection: reads lines, answers each in order, and
// writes every reply whole. Kept alive by its own coroutines
// (shared_from_this); decrements the active count when destroyed.
//
// Not thread-safe by itself: everything runs on the socket's strand.
class EdgeSession : public std::enable_shared_from_this<EdgeSession> {
 public:
  // `address` was counted in context->per_address; the session uncounts it.
  EdgeSession(tcp::socket socket, std::shared_ptr<EdgeContext> context, uint64_t id,
              asio::ip::address address);
  EdgeSession(const EdgeSession&) = delete;
  EdgeSession& operator=(const EdgeSession&) = delete;
  ~EdgeSession();

  // Starts the reader and the idle watchdog on the socket's executor.
  void Start();

 private:
  asio::awaitable<void> ReadLoop();
  asio::awaitable<void> Watchdog();

  // Splits `data` into lines and answers complete ones; keeps a partial line.
  asio::awaitable<bool> Consume(std::string_view data);
  // Answers one complete line (without its '\n').
  asio::awaitable<void> HandleLine(std::string_view line);
  // Answers `line` at once, unless it is a WHATSAT: that one it returns, for
  // HandleWhatsat (most lines never suspend the coroutine).
  std::optional<WhatsatCommand> AnswerNow(std::string_view line);
  // Answers a WHATSAT parsed from `line` (which may end in '\r').
  asio::awaitable<void> HandleWhatsat(std::string_view line, WhatsatCommand whatsat);
  // Answers an IAMAT and logs `line` with the reply.
  void AnswerIamat(std::string_view line, std::string_view client, std::string_view location,
                   std::string_view client_time);
  void Reply(std::string_view text);
  void ReplyInvalid(std::string_view line, std::string_view why);
  // Writes buffered replies; false if the connection failed. Waits first
  // until the records they acknowledge are durable.
  asio::awaitable<bool> Flush();
  // Suspends until context_->durable covers awaiting_.
  asio::awaitable<void> AwaitDurable();
  // Writes what the socket takes now without waiting; returns the bytes
  // written from the front of output_.
  size_t WriteNow(boost::system::error_code* ec);
  void Touch();
  // A line has started and not ended (a partial line, or one being discarded).
  bool LinePending() const { return framer_.pending(); }
  // Called when a line starts without ending in the same read: it must end
  // within line_timeout.
  void StartLineClock();
  void Close();

  tcp::socket socket_;
  const std::shared_ptr<EdgeContext> context_;
  const uint64_t id_;
  const asio::ip::address address_;
  const std::string log_prefix_;  // "c42 ": starts this connection's log lines
  asio::steady_timer watchdog_;
  std::chrono::steady_clock::time_point deadline_;       // idle
  std::chrono::steady_clock::time_point line_deadline_;  // while LinePending()
  std::chrono::steady_clock::time_point watchdog_expiry_;
  LineFramer framer_;  // holds at most one partial line
  // Per shard, the newest record accepted for a reply still in output_:
  // the replies go out once it is durable.
  Store::Cursor awaiting_;
  bool awaiting_any_ = false;
  std::string output_;                     // replies not yet written
  std::array<char, 4 << 10> read_buffer_;  // small: thousands of connections
};

}  // namespace herd

#endif  // HERD_EDGE_EDGE_SESSION_H_
