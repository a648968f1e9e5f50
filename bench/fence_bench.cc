// herd-fencebench: the two figures of geofencing (issue 15).
//
//   herd-fencebench load --grpc 127.0.0.1:12100 --fences 10000
//       sets that many polygon fences (8-16 vertices, 1-20 km across) spread
//       over North America, the area `herd-loadgen --area north-america`
//       reports from, and prints how long it took;
//   herd-fencebench latency --report-port 12000 --grpc 127.0.0.1:12100 --rate 1000
//       sets one circle fence, watches Fences/Watch, and sends IAMATs at a
//       fixed rate for 100 clients that step in and out of the circle in
//       turn, so every report fires ENTER or EXIT; each event's latency is
//       from just before its IAMAT was written to when the watcher got it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <numbers>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include "bench/histogram.h"
#include "herd/v1/fences.grpc.pb.h"

namespace herd::bench {
namespace {

using Clock = std::chrono::steady_clock;

// North America as herd-loadgen --area north-america spreads its clients.
constexpr double kSouth = 25, kNorth = 50, kWest = -125, kEast = -70;

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

// A star-shaped polygon around a random centre: never self-intersecting.
std::string RandomPolygon(std::mt19937_64& random) {
  std::uniform_real_distribution<double> lat(kSouth, kNorth), lng(kWest, kEast);
  std::uniform_real_distribution<double> size_km(0.5, 10), jitter(0.6, 1.0);
  std::uniform_int_distribution<int> vertices(8, 16);
  const double centre_lat = lat(random), centre_lng = lng(random), radius_km = size_km(random);
  const int n = vertices(random);
  std::string ring;
  std::string first;
  for (int i = 0; i < n; ++i) {
    const double angle = 2 * std::numbers::pi * i / n;
    const double r = radius_km * jitter(random);
    const double dlat = r / 111.2 * std::sin(angle);
    const double dlng =
        r / (111.2 * std::cos(centre_lat * std::numbers::pi / 180)) * std::cos(angle);
    char position[64];
    std::snprintf(position, sizeof position, "[%.6f,%.6f]", centre_lng + dlng, centre_lat + dlat);
    if (i == 0) first = position;
    ring += position;
    ring += ",";
  }
  ring += first;
  return R"({"type":"Polygon","coordinates":[[)" + ring + "]]}";
}

std::unique_ptr<v1::Fences::Stub> Stub(const std::string& target) {
  return v1::Fences::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
}

int Load(const std::string& target, int fences, uint64_t seed) {
  auto stub = Stub(target);
  std::mt19937_64 random(seed);
  const auto start = Clock::now();
  for (int i = 0; i < fences; ++i) {
    v1::SetFenceRequest request;
    v1::Fence* fence = request.mutable_fence();
    fence->set_id("bench-" + std::to_string(i));
    fence->mutable_polygon()->set_geojson(RandomPolygon(random));
    grpc::ClientContext context;
    v1::Fence stored;
    const grpc::Status status = stub->Set(&context, request, &stored);
    if (!status.ok()) {
      std::fprintf(stderr, "herd-fencebench: Set %s: %s\n", fence->id().c_str(),
                   status.error_message().c_str());
      return 1;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("set %d polygon fences over North America in %.2f s\nRESULT fences=%d set_s=%.2f\n",
              fences, seconds, fences, seconds);
  return 0;
}

int Latency(const std::string& target, uint16_t report_port, int rate, double duration_s) {
  auto stub = Stub(target);
  {
    v1::SetFenceRequest request;
    v1::Fence* fence = request.mutable_fence();
    fence->set_id("bench-latency");
    fence->set_client_pattern("fl-*");
    v1::Circle* circle = fence->mutable_circle();
    circle->set_latitude(34.0);
    circle->set_longitude(-118.0);
    circle->set_radius_m(1000);
    grpc::ClientContext context;
    v1::Fence stored;
    if (grpc::Status status = stub->Set(&context, request, &stored); !status.ok()) {
      std::fprintf(stderr, "herd-fencebench: Set: %s\n", status.error_message().c_str());
      return 1;
    }
  }
  const int reports = static_cast<int>(rate * duration_s);
  // Client times a minute behind the clock, so every run's reports are newer
  // than the last run's (and the warm-up's than those).
  const long long base_s = static_cast<long long>(std::time(nullptr)) - 60;
  std::vector<std::atomic<int64_t>> sent_at(reports);
  const auto start = Clock::now();
  auto since_start = [start] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  };

  grpc::ClientContext watch_context;
  v1::WatchFencesRequest watch;
  watch.add_fence_ids("bench-latency");
  auto stream = stub->Watch(&watch_context, watch);
  Histogram latencies;
  std::atomic<int> received = 0;
  std::atomic<bool> live = false;  // the warm-up client's event came through
  uint64_t skipped = 0;
  std::thread watcher([&] {
    v1::WatchFencesResponse response;
    while (received.load() < reports && stream->Read(&response)) {
      const int64_t now = since_start();
      skipped += response.skipped();
      for (const v1::FenceEvent& event : response.events()) {
        if (event.location().record().client_id() == "fl-warm") {
          live.store(true);
          continue;
        }
        // The report's number is its client time's fraction.
        const std::string& time = event.location().record().client_time();
        const size_t dot = time.find('.');
        if (dot == std::string::npos) continue;
        const int n = std::atoi(time.c_str() + dot + 1);
        if (n < 0 || n >= reports) continue;
        latencies.Add(static_cast<uint64_t>(now - sent_at[n].load()));
        received.fetch_add(1);
      }
    }
  });
  const int fd = Connect(report_port);
  if (fd < 0) {
    std::fprintf(stderr, "herd-fencebench: cannot connect to port %u\n", report_port);
    return 1;
  }
  std::thread drain([fd] {
    char buffer[65536];
    while (recv(fd, buffer, sizeof buffer, 0) > 0) {
    }
  });
  // The stream is live once an event reaches it: a warm-up client steps in
  // and out of the circle, unmeasured, until one of its events arrives.
  const auto warm_deadline = Clock::now() + std::chrono::seconds(5);
  for (int k = 0; !live.load() && Clock::now() < warm_deadline; ++k) {
    char line[128];
    const int length =
        std::snprintf(line, sizeof line, "IAMAT fl-warm %s %lld.%09d\n",
                      k % 2 == 0 ? "+34.000000-118.000000" : "+34.100000-118.000000", base_s, k);
    send(fd, line, static_cast<size_t>(length), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pacing the warm-up
  }
  if (!live.load()) {
    std::fprintf(stderr, "herd-fencebench: no event reached the Watch stream in 5 s\n");
    watch_context.TryCancel();
    watcher.join();
    shutdown(fd, SHUT_RDWR);
    drain.join();
    close(fd);
    return 1;
  }
  const int clients = 100;
  const auto interval = std::chrono::nanoseconds(1'000'000'000 / rate);
  const auto paced_from = Clock::now();
  for (int n = 0; n < reports; ++n) {
    std::this_thread::sleep_until(paced_from + n * interval);
    // Report k of a client is inside the circle if k is even: every report
    // crosses its edge (the first one enters: a new client counts as outside).
    const bool inside = (n / clients) % 2 == 0;
    char line[128];
    const int length =
        std::snprintf(line, sizeof line, "IAMAT fl-%d %s %lld.%09d\n", n % clients,
                      inside ? "+34.000000-118.000000" : "+34.100000-118.000000", base_s, n);
    sent_at[n].store(since_start());
    if (send(fd, line, static_cast<size_t>(length), MSG_NOSIGNAL) != length) {
      std::fprintf(stderr, "herd-fencebench: send failed\n");
      break;
    }
  }
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  while (received.load() < reports && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  watch_context.TryCancel();
  watcher.join();
  shutdown(fd, SHUT_RDWR);
  drain.join();
  close(fd);
  auto ms = [&](double p) { return static_cast<double>(latencies.Percentile(p)) / 1e6; };
  std::printf("%d reports at %d/s, each firing ENTER or EXIT\n", reports, rate);
  std::printf(
      "events received %d (%llu coalesced)  latency p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
      received.load(), static_cast<unsigned long long>(skipped), ms(0.5), ms(0.99), ms(1.0));
  std::printf("RESULT events=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", received.load(), ms(0.5),
              ms(0.99), ms(1.0));
  return received.load() == reports ? 0 : 1;
}

int Main(int argc, char** argv) {
  CLI::App app{"herd-fencebench: geofencing figures"};
  app.require_subcommand(1);
  std::string target = "127.0.0.1:12100";
  app.add_option("--grpc", target, "the server's gRPC address")->capture_default_str();
  int fences = 10000;
  uint64_t seed = 1;
  CLI::App* load = app.add_subcommand("load", "set polygon fences over North America");
  load->add_option("--fences", fences)->capture_default_str();
  load->add_option("--seed", seed)->capture_default_str();
  uint16_t report_port = 12000;
  int rate = 1000;
  double duration_s = 10;
  CLI::App* latency = app.add_subcommand("latency", "report-to-event latency at a Watch stream");
  latency->add_option("--report-port", report_port)->capture_default_str();
  latency->add_option("--rate", rate)->capture_default_str()->check(CLI::Range(1, 1'000'000));
  latency->add_option("--duration", duration_s)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (load->parsed()) return Load(target, fences, seed);
  return Latency(target, report_port, rate, duration_s);
}

}  // namespace
}  // namespace herd::bench

int main(int argc, char** argv) { return herd::bench::Main(argc, argv); }
