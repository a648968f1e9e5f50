#include "edge/edge_session.h"

#include <utility>
#include <variant>

#include "common/strings.h"
#include "edge/protocol.h"
#include "store/record.h"  // FormatSkew

namespace herd {
namespace {

constexpr size_t kFlushThreshold = 64 << 10;
constexpr size_t kMaxIdleOutputCapacity = 256 << 10;

// Asks `places` and resumes the awaiting coroutine on its own executor, since
// the provider may answer on a thread of its own.
auto AsyncNearby(PlacesProvider* places, const PlacesQuery& query) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(nlohmann::json)>(
      [places, query](auto handler) {
        auto executor = asio::get_associated_executor(handler);
        places->Nearby(
            query, [handler = std::move(handler), executor](nlohmann::json response) mutable {
              asio::post(executor,
                         [handler = std::move(handler), response = std::move(response)]() mutable {
                           std::move(handler)(std::move(response));
                         });
            });
      },
      asio::use_awaitable);
}

// Counts a command of `kind` with `outcome`, and its latency since `start`
// (if it is set), when metrics are on.
void CountCommand(const EdgeContext& context, ServerMetrics::CommandKind kind,
                  ServerMetrics::CommandOutcome outcome,
                  std::chrono::steady_clock::time_point start = {}) {
  if (context.metrics == nullptr) return;
  context.metrics->CountCommand(kind, outcome);
  if (start != std::chrono::steady_clock::time_point{} && kind != ServerMetrics::kOther) {
    context.metrics->reply_latency[kind].ObserveNanos(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                             start)
            .count());
  }
}

// The kind of an invalid line, from its first word.
ServerMetrics::CommandKind KindOf(std::string_view line) {
  if (line.starts_with("IAMAT")) return ServerMetrics::kIamat;
  if (line.starts_with("WHATSAT")) return ServerMetrics::kWhatsat;
  return ServerMetrics::kOther;
}

std::chrono::steady_clock::time_point StartIfCounting(const EdgeContext& context) {
  return context.metrics ? std::chrono::steady_clock::now()
                         : std::chrono::steady_clock::time_point{};
}

std::string_view WithoutCarriageReturn(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

EdgeSession::EdgeSession(tcp::socket socket, std::shared_ptr<EdgeContext> context, uint64_t id,
                         asio::ip::address address)
    : socket_(std::move(socket)),
      context_(std::move(context)),
      id_(id),
      address_(std::move(address)),
      log_prefix_("c" + std::to_string(id) + " "),
      watchdog_(socket_.get_executor()),
      framer_(context_->max_line_bytes) {}

EdgeSession::~EdgeSession() {
  context_->log->Info("c{} closed", id_);
  context_->per_address->Remove(address_);
  context_->active_connections.fetch_sub(1);
}

void EdgeSession::Start() {
  Touch();
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);  // so that WriteNow never blocks
  if (ec) {
    context_->log->Error("c{} cannot be made non-blocking: {}", id_, ec.message());
    Close();
    return;
  }
  auto executor = socket_.get_executor();
  asio::co_spawn(
      executor, [self = shared_from_this()] { return self->ReadLoop(); }, asio::detached);
  asio::co_spawn(
      executor, [self = shared_from_this()] { return self->Watchdog(); }, asio::detached);
}

void EdgeSession::Touch() { deadline_ = std::chrono::steady_clock::now() + context_->idle_timeout; }

void EdgeSession::StartLineClock() {
  line_deadline_ = std::chrono::steady_clock::now() + context_->line_timeout;
  // The watchdog sleeps until the idle deadline: wake it to sleep less. When
  // lines keep arriving split across reads, it is usually already armed for
  // an earlier line's deadline and this costs nothing.
  if (watchdog_expiry_ > line_deadline_) watchdog_.cancel();
}

void EdgeSession::Close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  watchdog_.cancel();
}

asio::awaitable<void> EdgeSession::Watchdog() {
  while (socket_.is_open()) {
    watchdog_expiry_ = deadline_;
    if (LinePending() && line_deadline_ < watchdog_expiry_) watchdog_expiry_ = line_deadline_;
    watchdog_.expires_at(watchdog_expiry_);
    boost::system::error_code ec;
    co_await watchdog_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!socket_.is_open()) break;
    const auto now = std::chrono::steady_clock::now();
    if (LinePending() && line_deadline_ <= now) {
      context_->log->Info("c{} line not completed within {} ms, closing", id_,
                          context_->line_timeout.count());
      Close();
    } else if (deadline_ <= now) {
      context_->log->Info("c{} idle for {} ms, closing", id_, context_->idle_timeout.count());
      Close();
    }
  }
}

asio::awaitable<void> EdgeSession::ReadLoop() {
  for (;;) {
    boost::system::error_code ec;
    const size_t n = co_await socket_.async_read_some(
        asio::buffer(read_buffer_), asio::redirect_error(asio::use_awaitable, ec));
    Touch();
    if (n > 0 && !co_await Consume(std::string_view(read_buffer_.data(), n))) break;
    if (ec == asio::error::eof) {
      // The client half-closed: a last line without '\n' is still a command.
      if (const std::string_view last = framer_.TakeLast(); !last.empty()) {
        co_await HandleLine(last);
      }
      if (co_await Flush()) socket_.shutdown(tcp::socket::shutdown_send, ec);
      break;
    }
    const bool replied = !output_.empty();
    if (ec || !co_await Flush()) break;
    // A client that waits for its reply has sent nothing more yet: reading
    // at once would cost a system call that finds nothing. Other
    // connections' work goes first, which gives the client that time.
    if (replied) co_await asio::post(socket_.get_executor(), asio::use_awaitable);
  }
  Close();
}

asio::awaitable<bool> EdgeSession::Consume(std::string_view data) {
  framer_.Feed(data);
  for (;;) {
    // A line's text stays valid while a WHATSAT waits: the framer is not
    // called again and read_buffer_ is not read into until then.
    const LineFramer::Event event = framer_.Next();
    if (event.kind == LineFramer::Event::kNeedMore) break;
    if (event.kind == LineFramer::Event::kTooLong) {
      ReplyInvalid(event.text, "line too long");
    } else if (const std::optional<WhatsatCommand> whatsat = AnswerNow(event.text)) {
      co_await HandleWhatsat(event.text, *whatsat);
    }
    if (output_.size() >= kFlushThreshold && !co_await Flush()) co_return false;
  }
  if (framer_.TakeLineStarted()) StartLineClock();  // a line begun, not ended
  co_return true;
}

asio::awaitable<void> EdgeSession::HandleLine(std::string_view line) {
  if (const std::optional<WhatsatCommand> whatsat = AnswerNow(line)) {
    co_await HandleWhatsat(line, *whatsat);
  }
}

std::optional<WhatsatCommand> EdgeSession::AnswerNow(std::string_view line) {
  line = WithoutCarriageReturn(line);
  absl::StatusOr<Command> command = ParseCommand(line);
  if (!command.ok()) {
    CountCommand(*context_, KindOf(line), ServerMetrics::kInvalid);
    context_->log->InfoPieces({log_prefix_, "< ", line});
    ReplyInvalid(line, AsStd(command.status().message()));
    return std::nullopt;
  }
  if (std::holds_alternative<BlankLine>(*command)) return std::nullopt;
  if (const auto* iamat = std::get_if<IamatCommand>(&*command)) {
    AnswerIamat(line, iamat->client_id, iamat->location, iamat->client_time);
    return std::nullopt;
  }
  context_->log->InfoPieces({log_prefix_, "< ", line});
  return std::get<WhatsatCommand>(*command);
}

void EdgeSession::AnswerIamat(std::string_view line, std::string_view client,
                              std::string_view location, std::string_view client_time) {
  const auto started = StartIfCounting(*context_);
  // One parse of the client time gives both the record's time difference
  // and the max_future_s check.
  const SkewText skew = FormatSkewText(context_->clock(), client_time);
  if (skew.TooFarAhead(context_->max_future_s)) {
    CountCommand(*context_, ServerMetrics::kIamat, ServerMetrics::kInvalid);
    context_->log->InfoPieces({log_prefix_, "< ", line});
    ReplyInvalid(line, "client time too far ahead (max_future_s)");
    return;
  }
  const RecordView record{client, context_->server_name, skew.view(), location, client_time};
  Store::FeedPosition position;
  const FenceMonitor* fences = context_->fences;
  const bool check_fences = fences != nullptr && fences->armed();
  std::optional<Record> replaced;
  const Store::Outcome outcome =
      context_->store->Apply(record, {}, &position, check_fences ? &replaced : nullptr);
  if (outcome == Store::Outcome::kRefused) {  // a new client over store.max_clients
    context_->log->InfoPieces({log_prefix_, "< ", line});
    ReplyInvalid(line, "too many clients (store.max_clients)");
    return;
  }
  const bool accepted = outcome == Store::Outcome::kAccepted;
  if (accepted && check_fences) fences->OnAccepted(record, replaced);
  if (accepted && context_->durable != nullptr) {
    uint64_t& seen = awaiting_.seen[position.shard];
    if (position.seq > seen) seen = position.seq;
    awaiting_any_ = true;
  }
  // The AT line goes straight into the output buffer; the log reads it there.
  const size_t start = output_.size();
  for (std::string_view piece :
       {std::string_view("AT "), record.origin, std::string_view(" "), record.skew,
        std::string_view(" "), record.client_id, std::string_view(" "), record.location,
        std::string_view(" "), record.client_time}) {
    output_.append(piece);
  }
  context_->log->InfoLines({{log_prefix_, "< ", line},
                            {log_prefix_, "> ", std::string_view(output_).substr(start),
                             accepted ? "" : " (not newer, kept)"}});
  output_.push_back('\n');
  if (context_->metrics) context_->metrics->CountRecord(ServerMetrics::kEdge, accepted);
  CountCommand(*context_, ServerMetrics::kIamat,
               accepted ? ServerMetrics::kAccepted : ServerMetrics::kNotNewer, started);
}

asio::awaitable<void> EdgeSession::HandleWhatsat(std::string_view line, WhatsatCommand whatsat) {
  line = WithoutCarriageReturn(line);
  const auto start = StartIfCounting(*context_);
  std::optional<Record> record = context_->store->Get(whatsat.client_id);
  if (!record) {
    CountCommand(*context_, ServerMetrics::kWhatsat, ServerMetrics::kInvalid);
    ReplyInvalid(line, "unknown client");
    co_return;
  }
  PlacesQuery query{0, 0, whatsat.radius_km, whatsat.bound};
  ParseLocation(record->location, &query.latitude, &query.longitude);
  std::shared_ptr<const PlacesText> text = context_->places->RenderedNow(query);
  if (text == nullptr) {
    // `line` may point into read_buffer_, which stays untouched while we wait.
    if (!co_await Flush()) co_return;  // earlier replies need not wait for Places
    Touch();
    text = std::make_shared<const PlacesText>(
        RenderPlacesText(co_await AsyncNearby(context_->places, query)));
  }
  const std::string at_line = record->AtLine();
  context_->log->Info("c{} > {} {}", id_, at_line, text->one_line);
  AppendWhatsat(at_line, text->indented, &output_);
  CountCommand(*context_, ServerMetrics::kWhatsat, ServerMetrics::kAnswered, start);
}

void EdgeSession::Reply(std::string_view text) { output_.append(text); }

void EdgeSession::ReplyInvalid(std::string_view line, std::string_view why) {
  const std::string reply = FormatInvalid(line);
  context_->log->Info("c{} > ? ({}) {}", id_, why, line);
  Reply(reply);
}

asio::awaitable<void> EdgeSession::AwaitDurable() {
  DurableMark* durable = context_->durable;
  if (!durable->Covers(awaiting_)) {
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
        [durable, needed = awaiting_](auto handler) {
          auto executor = asio::get_associated_executor(handler);
          // std::function wants a copyable callable: the handler is shared.
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          durable->WhenDurable(needed, [shared, executor] {
            asio::post(executor, [shared] { std::move (*shared)(); });
          });
        },
        asio::use_awaitable);
  }
  awaiting_ = Store::Cursor{};
  awaiting_any_ = false;
}

asio::awaitable<bool> EdgeSession::Flush() {
  if (output_.empty()) co_return socket_.is_open();
  if (awaiting_any_) co_await AwaitDurable();
  Touch();
  boost::system::error_code ec;
  // Most replies fit the socket buffer: written without suspending.
  const size_t written = WriteNow(&ec);
  if (!ec && written < output_.size()) {
    co_await asio::async_write(socket_,
                               asio::buffer(output_.data() + written, output_.size() - written),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  output_.clear();
  if (output_.capacity() > kMaxIdleOutputCapacity) output_.shrink_to_fit();
  co_return !ec;
}

size_t EdgeSession::WriteNow(boost::system::error_code* ec) {
  size_t written = 0;
  while (written < output_.size()) {
    written +=
        socket_.write_some(asio::buffer(output_.data() + written, output_.size() - written), *ec);
    if (*ec == asio::error::would_block || *ec == asio::error::try_again) {
      ec->clear();
      break;
    }
    if (*ec) break;
  }
  return written;
}

}  // namespace herd
