// herd-propagation: how long a report takes to reach a far server. Sends
// IAMATs for fresh clients to one server's text port at a fixed rate and
// watches another server's Locations/Watch stream; each record's latency is
// from just before its IAMAT was written to when the watcher received it.
//
// With --probe-port (the far server's text port), a second witness that
// uses no Watch: a prober takes the next report to be sent, and from the
// moment it is sent asks the far server WHATSAT for it back to back until
// the answer is an AT line (each answer is a round trip, so the figure
// exceeds the true one by at most one). One report at a time: the prober
// samples the reports, as many as it can.
//
//   herd-propagation --report-port 12000 --watch 127.0.0.1:12103 --rate 1000
//       --duration 10 [--probe-port 12003]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include "bench/histogram.h"
#include "herd/v1/locations.grpc.pb.h"

namespace herd::bench {
namespace {

using Clock = std::chrono::steady_clock;

int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// One WHATSAT exchange on `fd`: true if the answer is an AT line (the
// client is known), false if it is "? ..." or the connection failed.
bool AskWhatsat(int fd, int n, bool* failed) {
  char line[64];
  const int length = std::snprintf(line, sizeof line, "WHATSAT probe-%d 1 1\n", n);
  if (send(fd, line, static_cast<size_t>(length), MSG_NOSIGNAL) != length) {
    *failed = true;
    return false;
  }
  std::string answer;
  char buffer[8192];
  for (;;) {
    // An error is one line; an answer ends with an empty line.
    if (answer.rfind("? ", 0) == 0 && answer.back() == '\n') return false;
    if (answer.size() >= 2 && answer.compare(answer.size() - 2, 2, "\n\n") == 0) {
      return answer.rfind("AT ", 0) == 0;
    }
    const ssize_t got = recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) {
      *failed = true;
      return false;
    }
    answer.append(buffer, static_cast<size_t>(got));
  }
}

// The edge-only witness: takes the next report to be sent, asks for it
// from the moment it is sent until it is known, records the latency, and
// so on until the last report.
template <typename SinceStart>
void ProbeByWhatsat(int fd, int reports, const std::vector<std::atomic<int64_t>>& sent_at,
                    const std::atomic<int>& sent_count, SinceStart since_start,
                    Histogram* latencies) {
  bool failed = false;
  while (!failed) {
    const int n = sent_count.load();  // the next report to be sent
    if (n >= reports) return;
    // Polled, not spun on: the herd needs the cores. Asking up to 20 us
    // late cannot flatter the figure, which counts from the send.
    while (sent_count.load() <= n) std::this_thread::sleep_for(std::chrono::microseconds(20));
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    bool known = false;
    while (!failed && !known && Clock::now() < give_up) known = AskWhatsat(fd, n, &failed);
    if (known) latencies->Add(static_cast<uint64_t>(since_start() - sent_at[n].load()));
  }
  std::fprintf(stderr, "herd-propagation: the WHATSAT probe's connection failed\n");
}

int Main(int argc, char** argv) {
  uint16_t report_port = 12000;
  std::string watch_target = "127.0.0.1:12103";
  int rate = 1000;
  double duration_s = 10;
  CLI::App app{"herd-propagation: report-to-far-server latency"};
  app.add_option("--report-port", report_port, "text port the IAMATs go to")->capture_default_str();
  app.add_option("--watch", watch_target, "gRPC address of the far server")->capture_default_str();
  app.add_option("--rate", rate, "reports per second")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--duration", duration_s, "seconds")->capture_default_str();
  std::string ca_file, token;
  app.add_option("--ca", ca_file, "the herd's CA (PEM): watch over TLS");
  app.add_option("--token", token, "bearer token with the read role");
  uint16_t probe_port = 0;
  app.add_option("--probe-port", probe_port, "text port of the far server: also probe by WHATSAT");
  CLI11_PARSE(app, argc, argv);

  const int reports = static_cast<int>(rate * duration_s);
  std::vector<std::atomic<int64_t>> sent_at(reports);  // ns since start, per report
  std::atomic<int> sent_count = 0;
  const auto start = Clock::now();
  auto since_start = [start] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  };

  // The watcher: its stream must be live before the first report.
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!ca_file.empty()) {
    std::ifstream file(ca_file);
    std::stringstream pem;
    pem << file.rdbuf();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pem.str();
    credentials = grpc::SslCredentials(ssl);
  }
  auto channel = grpc::CreateChannel(watch_target, credentials);
  auto stub = v1::Locations::NewStub(channel);
  grpc::ClientContext watch_context;
  if (!token.empty()) watch_context.AddMetadata("authorization", "Bearer " + token);
  auto stream = stub->Watch(&watch_context, v1::WatchRequest());
  v1::WatchResponse response;
  if (!stream->Read(&response) || !response.initial_state_done()) {
    std::fprintf(stderr, "herd-propagation: no Watch stream at %s\n", watch_target.c_str());
    return 1;
  }
  Histogram latencies;
  std::atomic<int> received = 0;
  uint64_t skipped = 0;
  std::thread watcher([&] {
    while (received.load() < reports && stream->Read(&response)) {
      const int64_t now = since_start();
      skipped += response.skipped();
      for (const v1::Location& location : response.locations()) {
        const std::string& id = location.record().client_id();
        if (id.rfind("probe-", 0) != 0) continue;
        const int n = std::atoi(id.c_str() + 6);
        if (n < 0 || n >= reports) continue;
        latencies.Add(static_cast<uint64_t>(now - sent_at[n].load()));
        received.fetch_add(1);
      }
    }
  });

  const int fd = Connect(report_port);
  if (fd < 0) {
    std::fprintf(stderr, "herd-propagation: cannot connect to port %u\n", report_port);
    return 1;
  }
  std::thread drain([fd] {  // the AT replies, read and dropped
    char buffer[65536];
    while (recv(fd, buffer, sizeof buffer, 0) > 0) {
    }
  });
  Histogram probed;
  std::thread prober;
  if (probe_port != 0) {
    const int probe_fd = Connect(probe_port);
    if (probe_fd < 0) {
      std::fprintf(stderr, "herd-propagation: cannot connect to port %u\n", probe_port);
      return 1;
    }
    prober = std::thread([&, probe_fd] {
      ProbeByWhatsat(probe_fd, reports, sent_at, sent_count, since_start, &probed);
      close(probe_fd);
    });
  }
  const auto interval = std::chrono::nanoseconds(1'000'000'000 / rate);
  for (int n = 0; n < reports; ++n) {
    std::this_thread::sleep_until(start + n * interval);  // pacing the offered load
    char line[128];
    const int length = std::snprintf(
        line, sizeof line, "IAMAT probe-%d +34.068930-118.445127 1700000000.%09d\n", n, n);
    sent_at[n].store(since_start());
    sent_count.store(n + 1);
    if (send(fd, line, static_cast<size_t>(length), MSG_NOSIGNAL) != length) {
      std::fprintf(stderr, "herd-propagation: send failed\n");
      break;
    }
  }
  // Give the last reports up to five seconds to arrive.
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  while (received.load() < reports && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  watch_context.TryCancel();
  watcher.join();
  if (prober.joinable()) prober.join();
  shutdown(fd, SHUT_RDWR);
  drain.join();
  close(fd);

  auto ms = [&](double p) { return static_cast<double>(latencies.Percentile(p)) / 1e6; };
  std::printf("%d reports at %d/s to port %u, watched at %s\n", reports, rate, report_port,
              watch_target.c_str());
  std::printf(
      "received %d (%llu versions coalesced)  latency p50 %.3f ms  p99 %.3f ms  "
      "p99.9 %.3f ms  max %.3f ms\n",
      received.load(), static_cast<unsigned long long>(skipped), ms(0.5), ms(0.99), ms(0.999),
      ms(1.0));
  auto probe_ms = [&](double p) { return static_cast<double>(probed.Percentile(p)) / 1e6; };
  if (probe_port != 0) {
    std::printf(
        "probed by WHATSAT at port %u: %llu reports  latency p50 %.3f ms  p99 %.3f ms  "
        "max %.3f ms\n",
        probe_port, static_cast<unsigned long long>(probed.count()), probe_ms(0.5), probe_ms(0.99),
        probe_ms(1.0));
  }
  std::printf("RESULT received=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f", received.load(), ms(0.5),
              ms(0.99), ms(1.0));
  if (probe_port != 0) {
    std::printf(" probed=%llu probe_p50_ms=%.3f probe_p99_ms=%.3f",
                static_cast<unsigned long long>(probed.count()), probe_ms(0.5), probe_ms(0.99));
  }
  std::printf("\n");
  return received.load() == reports ? 0 : 1;
}

}  // namespace
}  // namespace herd::bench

int main(int argc, char** argv) { return herd::bench::Main(argc, argv); }
