// herd-loadgen: a non-blocking load generator for the herd's text protocol
// (and, for comparison, Redis's inline protocol). N connections, each a
// coroutine sending a request and waiting for its reply (or `--pipeline`
// requests at a time), persistent or one connection per request. Prints the
// request rate and latency percentiles.
//
//   herd-loadgen --port 12000 --connections 50 --duration 10
//   herd-loadgen --port 12000 --mix iamat=80,whatsat=20
//   herd-loadgen --port 6379 --protocol redis     (GEOADD)
//   herd-loadgen --port 12000 --mode oneshot

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/histogram.h"
#include "common/asio.h"

namespace herd::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 12000;
  int connections = 50;
  std::string mode = "persistent";  // persistent | oneshot
  std::string protocol = "herd";    // herd | redis
  int iamat_percent = 100;          // the rest is WHATSAT
  int clients = 100'000;            // distinct client ids reported
  int whatsat_clients = 100;        // clients asked about (reported first)
  int pipeline = 1;
  double duration_s = 10;
  double warmup_s = 1;
  int threads = 1;
  uint64_t requests = 0;  // stop after this many (0: run for duration)
  // Client times start here (seconds): a later run with a higher base is
  // newer everywhere, so its IAMATs are accepted (and flooded) again.
  uint64_t time_base = 1700000000;
  // Where clients report from: "la", a 1-degree square near Los Angeles, or
  // "north-america", spread over 25-50 N, 70-125 W (as herd-fencebench
  // spreads its fences), each client moving a little from report to report.
  std::string area = "la";
};

struct Totals {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> sequence{0};  // makes every report newer
};

// The next request of a connection, and how its reply ends.
class RequestMaker {
 public:
  RequestMaker(const Options& options, Totals* totals, int connection)
      : options_(options), totals_(totals), next_client_(connection) {}

  // Appends one request; returns true if it is a WHATSAT.
  bool Append(std::string* out) {
    const bool whatsat = options_.iamat_percent < 100 &&
                         static_cast<int>(counter_++ % 100) >= options_.iamat_percent;
    if (whatsat) {
      out->append("WHATSAT wc-" + std::to_string(counter_ % options_.whatsat_clients) + " 10 5\n");
      return true;
    }
    const int client = next_client_;
    next_client_ = (next_client_ + options_.connections) % options_.clients;
    AppendReport("c" + std::to_string(client), client, out);
    return false;
  }

  void AppendReport(const std::string& client, int n, std::string* out) {
    const uint64_t sequence = totals_->sequence.fetch_add(1, std::memory_order_relaxed);
    char location[48];
    if (options_.area == "north-america") {
      // A fixed spot per client (a multiplicative hash of its number),
      // plus up to 600 m of drift with every report.
      const uint64_t h = static_cast<uint64_t>(n) * 0x9E3779B97F4A7C15ull;
      const double drift = static_cast<double>(sequence % 7) * 0.001;
      std::snprintf(location, sizeof location, "%+.6f%+.6f",
                    25.0 + static_cast<double>(h >> 40) / (1 << 24) * 25.0 + drift,
                    -125.0 + static_cast<double>(h & 0xFFFFFF) / (1 << 24) * 55.0);
    } else {
      std::snprintf(location, sizeof location, "%+.6f%+.6f", 34.0 + (n % 1000) * 0.001,
                    -118.0 - (n / 1000 % 1000) * 0.001);
    }
    char time[40];
    std::snprintf(time, sizeof time, "%llu.%09llu",
                  static_cast<unsigned long long>(options_.time_base + sequence / 1'000'000'000),
                  static_cast<unsigned long long>(sequence % 1'000'000'000));
    if (options_.protocol == "redis") {
      // GEOADD key longitude latitude member, inline protocol.
      char lnglat[64];
      std::snprintf(lnglat, sizeof lnglat, "%.6f %.6f", -118.0 - (n / 1000 % 1000) * 0.001,
                    34.0 + (n % 1000) * 0.001);
      out->append("GEOADD herd " + std::string(lnglat) + " " + client + "\r\n");
      return;
    }
    out->append("IAMAT " + client + " " + location + " " + time + "\n");
  }

 private:
  const Options& options_;
  Totals* const totals_;
  int next_client_;
  uint64_t counter_ = 0;
};

// Where a reply ends in `buffer`, or npos: one line, or (WHATSAT) the blank line.
size_t ReplyEnd(const std::string& buffer, bool whatsat, size_t from) {
  if (!whatsat || buffer.compare(from, 2, "? ") == 0) {
    const size_t newline = buffer.find('\n', from);
    return newline == std::string::npos ? newline : newline + 1;
  }
  const size_t end = buffer.find("\n\n", from);
  return end == std::string::npos ? end : end + 2;
}

bool IsError(const std::string& buffer, size_t from, const Options& options) {
  if (options.protocol == "redis") return buffer[from] == '-';
  return buffer.compare(from, 2, "? ") == 0;
}

class Connection {
 public:
  Connection(asio::io_context& io, const Options& options, Totals* totals, int id,
             Clock::time_point measure_from, Clock::time_point stop_at)
      : io_(io),
        options_(options),
        totals_(totals),
        maker_(options, totals, id),
        measure_from_(measure_from),
        stop_at_(stop_at) {}

  const Histogram& histogram() const { return histogram_; }

  asio::awaitable<void> Run() {
    const tcp::endpoint endpoint(asio::ip::make_address(options_.host), options_.port);
    if (options_.mode == "oneshot") {
      while (!Done()) co_await OneShot(endpoint);
      co_return;
    }
    tcp::socket socket(io_);
    boost::system::error_code ec;
    co_await socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      std::fprintf(stderr, "connect: %s\n", ec.message().c_str());
      totals_->errors.fetch_add(1);
      co_return;
    }
    socket.set_option(tcp::no_delay(true));
    while (!Done()) {
      if (!co_await Exchange(socket, options_.pipeline)) break;
    }
  }

 private:
  bool Done() const {
    return Clock::now() >= stop_at_ ||
           (options_.requests > 0 && totals_->requests.load() >= options_.requests);
  }

  // Sends `count` requests and reads their replies; false on a broken connection.
  asio::awaitable<bool> Exchange(tcp::socket& socket, int count) {
    out_.clear();
    std::vector<bool> whatsat(count);
    for (int i = 0; i < count; ++i) whatsat[i] = maker_.Append(&out_);
    const auto start = Clock::now();
    boost::system::error_code ec;
    co_await asio::async_write(socket, asio::buffer(out_),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    for (int i = 0; i < count; ++i) {
      size_t end;
      while ((end = ReplyEnd(in_, whatsat[i], 0)) == std::string::npos) {
        char chunk[16 << 10];
        const size_t n = co_await socket.async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return false;
        in_.append(chunk, n);
      }
      Count(start, IsError(in_, 0, options_));
      in_.erase(0, end);
    }
    co_return true;
  }

  asio::awaitable<void> OneShot(const tcp::endpoint& endpoint) {
    out_.clear();
    maker_.Append(&out_);
    const auto start = Clock::now();
    tcp::socket socket(io_);
    boost::system::error_code ec;
    co_await socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      co_await asio::async_write(socket, asio::buffer(out_),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec) socket.shutdown(tcp::socket::shutdown_send, ec);
    in_.clear();
    while (!ec) {
      char chunk[16 << 10];
      const size_t n = co_await socket.async_read_some(
          asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
      in_.append(chunk, n);
    }
    Count(start, ec != asio::error::eof || in_.empty() || IsError(in_, 0, options_));
  }

  void Count(Clock::time_point start, bool error) {
    const auto now = Clock::now();
    if (start < measure_from_) return;  // warm-up
    histogram_.Add(std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count());
    totals_->requests.fetch_add(1, std::memory_order_relaxed);
    if (error) totals_->errors.fetch_add(1, std::memory_order_relaxed);
  }

  asio::io_context& io_;
  const Options& options_;
  Totals* const totals_;
  RequestMaker maker_;
  const Clock::time_point measure_from_;
  const Clock::time_point stop_at_;
  std::string out_;
  std::string in_;
  Histogram histogram_;
};

// Reports the clients WHATSAT asks about, so its answers are not "?".
bool Prepare(const Options& options) {
  if (options.iamat_percent >= 100 || options.protocol != "herd") return true;
  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address(options.host), options.port), ec);
  if (ec) return false;
  Totals totals;
  RequestMaker maker(options, &totals, 0);
  std::string out;
  for (int i = 0; i < options.whatsat_clients; ++i) {
    maker.AppendReport("wc-" + std::to_string(i), i, &out);
  }
  asio::write(socket, asio::buffer(out), ec);
  std::string in;
  for (int lines = 0; lines < options.whatsat_clients && !ec;) {
    char chunk[4096];
    const size_t n = socket.read_some(asio::buffer(chunk), ec);
    for (size_t i = 0; i < n; ++i) lines += chunk[i] == '\n';
  }
  return !ec;
}

int Main(int argc, char** argv) {
  Options options;
  std::string mix = "iamat=100";
  CLI::App app{"herd-loadgen: load for the herd's text protocol (or Redis GEOADD)"};
  app.add_option("--host", options.host)->capture_default_str();
  app.add_option("--port", options.port)->capture_default_str();
  app.add_option("--connections", options.connections)
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--mode", options.mode)
      ->capture_default_str()
      ->check(CLI::IsMember({"persistent", "oneshot"}));
  app.add_option("--protocol", options.protocol)
      ->capture_default_str()
      ->check(CLI::IsMember({"herd", "redis"}));
  app.add_option("--mix", mix, "iamat=P,whatsat=Q (percent)")->capture_default_str();
  app.add_option("--clients", options.clients, "distinct client ids reported")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--whatsat-clients", options.whatsat_clients)
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--pipeline", options.pipeline, "requests in flight per connection")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--duration", options.duration_s, "seconds measured")->capture_default_str();
  app.add_option("--warmup", options.warmup_s, "seconds before measuring")->capture_default_str();
  app.add_option("--time-base", options.time_base, "client times start here (s)")
      ->capture_default_str();
  app.add_option("--requests", options.requests, "stop after this many (0: duration)")
      ->capture_default_str();
  app.add_option("--threads", options.threads)->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--area", options.area, "where clients report from")
      ->capture_default_str()
      ->check(CLI::IsMember({"la", "north-america"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "herd-loadgen: %s\n", e.what());
    return 2;
  }
  if (std::sscanf(mix.c_str(), "iamat=%d", &options.iamat_percent) != 1 ||
      options.iamat_percent < 0 || options.iamat_percent > 100) {
    std::fprintf(stderr, "herd-loadgen: --mix: expected iamat=P[,whatsat=Q]\n");
    return 2;
  }
  if (options.protocol == "redis" && options.iamat_percent != 100) {
    std::fprintf(stderr, "herd-loadgen: --protocol redis sends GEOADD only\n");
    return 2;
  }
  if (!Prepare(options)) {
    std::fprintf(stderr, "herd-loadgen: cannot reach %s:%u\n", options.host.c_str(), options.port);
    return 1;
  }

  asio::io_context io;
  Totals totals;
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(options.warmup_s));
  const auto stop_at = measure_from + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(options.duration_s));
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < options.connections; ++i) {
    connections.push_back(
        std::make_unique<Connection>(io, options, &totals, i, measure_from, stop_at));
    asio::co_spawn(io, connections.back()->Run(), asio::detached);
  }
  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& thread : threads) thread.join();
  const double elapsed =
      std::chrono::duration<double>(std::min(Clock::now(), stop_at) - measure_from).count();

  Histogram all;
  for (const auto& connection : connections) all.Merge(connection->histogram());
  const uint64_t requests = totals.requests.load();
  const double rate = elapsed > 0 ? static_cast<double>(requests) / elapsed : 0;
  auto ms = [&](double p) { return static_cast<double>(all.Percentile(p)) / 1e6; };
  std::printf("%s:%u  %d connections, %s, %s, iamat %d%%  (%.1f s measured)\n",
              options.host.c_str(), options.port, options.connections, options.mode.c_str(),
              options.protocol.c_str(), options.iamat_percent, elapsed);
  std::printf("requests %llu  errors %llu  rate %.0f req/s\n",
              static_cast<unsigned long long>(requests),
              static_cast<unsigned long long>(totals.errors.load()), rate);
  std::printf("latency p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms\n", ms(0.5), ms(0.99), ms(0.999));
  std::printf("RESULT rate=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f errors=%llu\n", rate, ms(0.5),
              ms(0.99), ms(0.999), static_cast<unsigned long long>(totals.errors.load()));
  return 0;
}

}  // namespace
}  // namespace herd::bench

int main(int argc, char** argv) { return herd::bench::Main(argc, argv); }
