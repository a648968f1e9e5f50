// herd-fence-detect: the cost of FenceBook::Detect per report, the figure
// behind issue 15's speed target (IAMAT throughput with 10,000 polygon fences
// at least 0.8x the rate with none, one IAMAT costing ~15 µs). Loads
// --fences random star-shaped polygons (8-20 vertices, 1-20 km across)
// spread over North America, then times Detect for clients moving a few
// hundred metres between reports at random places over the same area, for
// clients reporting from inside fences, and on a book with no fences.
// Prints µs per call (mean, p50, p99) and the events fired per call, of the
// least disturbed of --rounds rounds (lowest mean: on a shared machine the
// others measure the neighbours). The mean is this thread's CPU time over
// the round (time descheduled left out), less the timing calls' own cost;
// percentiles are wall time per call, clock reads included (~0.03 µs).
//
//   build/bench/herd-fence-detect
//   build/bench/herd-fence-detect --fences 10000 --calls 200000

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <time.h>

#include <CLI/CLI.hpp>

#include "fences/fence_book.h"

namespace herd::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double kLatLo = 25, kLatHi = 50, kLngLo = -125, kLngHi = -70;
constexpr double kMetresPerDegree = 111'195;

struct Options {
  int fences = 10'000;
  int calls = 200'000;
  int rounds = 5;
  uint32_t seed = 1;
};

struct Point {
  double lat, lng;
};

// `metres` east and north of a point (small distances, off the poles).
Point Offset(Point p, double east_m, double north_m) {
  return {p.lat + north_m / kMetresPerDegree,
          p.lng + east_m / (kMetresPerDegree * std::cos(p.lat * std::numbers::pi / 180))};
}

std::string StarPolygonJson(std::mt19937& random, Point centre, double radius_m) {
  std::uniform_real_distribution<double> unit(0, 1);
  const int vertices = std::uniform_int_distribution<int>(8, 20)(random);
  std::string json = R"({"type":"Polygon","coordinates":[[)";
  std::string first;
  char position[64];
  for (int i = 0; i < vertices; ++i) {
    const double angle = (i + 0.1 + 0.8 * unit(random)) * 2 * std::numbers::pi / vertices;
    const double r = radius_m * (0.5 + 0.5 * unit(random));
    const Point p = Offset(centre, r * std::cos(angle), r * std::sin(angle));
    std::snprintf(position, sizeof position, "[%.7f,%.7f],", p.lng, p.lat);
    if (i == 0) first = position;
    json += position;
  }
  json += first;
  json.pop_back();  // the comma
  return json + "]]}";
}

Record At(int client, Point p, int report) {
  char location[64];
  std::snprintf(location, sizeof location, "%+.6f%+.6f", p.lat, p.lng);
  return Record{"client-" + std::to_string(client), "Riley", "+0.000000001", location,
                std::to_string(1'700'000'000 + report) + ".5"};
}

// One report: the record and the client's record before it.
struct Move {
  Record before, now;
};

double ThreadCpuUs() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

struct Figures {
  double mean_us, p50_us, p99_us, events_per_call;
};

Figures TimeRound(const FenceBook& book, const std::vector<Move>& moves, int calls) {
  std::vector<double> samples;
  samples.reserve(calls);
  std::vector<FiredEvent> events;
  size_t fired = 0;
  const double start_cpu_us = ThreadCpuUs();
  for (int i = 0; i < calls; ++i) {
    const Move& move = moves[i % moves.size()];
    const RecordView before = move.before.view();
    events.clear();
    const Clock::time_point t0 = Clock::now();
    if (book.has_fences()) book.Detect(move.now.view(), &before, nullptr, &events);
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    fired += events.size();
  }
  const double total_us = ThreadCpuUs() - start_cpu_us;
  // What the two clock reads per call cost (an opaque call: not elided).
  const double clock_start_us = ThreadCpuUs();
  for (int i = 0; i < calls; ++i) Clock::now();
  const double clock_us = ThreadCpuUs() - clock_start_us;
  std::sort(samples.begin(), samples.end());
  return {(total_us - 2 * clock_us) / calls, samples[samples.size() / 2],
          samples[samples.size() * 99 / 100], static_cast<double>(fired) / calls};
}

Figures Time(const FenceBook& book, const std::vector<Move>& moves, const Options& options) {
  Figures best = TimeRound(book, moves, options.calls);
  for (int round = 1; round < options.rounds; ++round) {
    const Figures figures = TimeRound(book, moves, options.calls);
    if (figures.mean_us < best.mean_us) best = figures;
  }
  return best;
}

void Print(const char* what, const Figures& f) {
  std::printf("%-44s mean %6.3f µs  p50 %6.3f µs  p99 %6.3f µs  events/call %.3f\n", what,
              f.mean_us, f.p50_us, f.p99_us, f.events_per_call);
}

int Run(const Options& options) {
  std::mt19937 random(options.seed);
  std::uniform_real_distribution<double> lat(kLatLo, kLatHi), lng(kLngLo, kLngHi), unit(0, 1);
  FenceBook::Options book_options;
  book_options.server_name = "Riley";
  book_options.now_ns = [] { return int64_t{1'700'000'000'000'000'000}; };
  FenceBook empty(book_options);
  book_options.max_fences = options.fences;
  FenceBook book(book_options);

  std::vector<Point> centres;
  const Clock::time_point load_start = Clock::now();
  for (int i = 0; i < options.fences; ++i) {
    v1::Fence fence;
    fence.set_id("fence-" + std::to_string(i));
    const Point centre{lat(random), lng(random)};
    centres.push_back(centre);
    fence.mutable_polygon()->set_geojson(
        StarPolygonJson(random, centre, 500 + 9'500 * unit(random)));  // 1-20 km across
    if (absl::StatusOr<v1::Fence> set = book.Set(fence); !set.ok()) {
      std::fprintf(stderr, "herd-fence-detect: %s\n", std::string(set.status().message()).c_str());
      return 1;
    }
  }
  const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
  std::printf("%d polygon fences over lat [%g, %g] lng [%g, %g], loaded in %.2f s (%.0f µs each)\n",
              options.fences, kLatLo, kLatHi, kLngLo, kLngHi, load_s,
              load_s * 1e6 / std::max(1, options.fences));

  // Clients anywhere, moving up to ~500 m per report.
  std::vector<Move> anywhere, in_fences;
  for (int i = 0; i < 10'000; ++i) {
    const Point from{lat(random), lng(random)};
    const Point to = Offset(from, 1000 * (unit(random) - 0.5), 1000 * (unit(random) - 0.5));
    anywhere.push_back({At(i, from, 0), At(i, to, 1)});
  }
  // Clients near fence centres: mostly inside one (ENTER/EXIT as they move).
  for (int i = 0; i < 10'000 && !centres.empty(); ++i) {
    const Point centre = centres[i % centres.size()];
    const Point from = Offset(centre, 400 * (unit(random) - 0.5), 400 * (unit(random) - 0.5));
    const Point to = Offset(from, 2000 * (unit(random) - 0.5), 2000 * (unit(random) - 0.5));
    in_fences.push_back({At(i, from, 0), At(i, to, 1)});
  }

  TimeRound(book, anywhere, options.calls / 10);  // warm up
  Print("no fences (has_fences() only)", Time(empty, anywhere, options));
  Print("fences, clients anywhere", Time(book, anywhere, options));
  if (!in_fences.empty()) {
    Print("fences, clients at fences (events fire)", Time(book, in_fences, options));
  }
  return 0;
}

}  // namespace
}  // namespace herd::bench

int main(int argc, char** argv) {
  herd::bench::Options options;
  CLI::App app{"Times FenceBook::Detect with many polygon fences"};
  app.add_option("--fences", options.fences, "polygon fences to load");
  app.add_option("--calls", options.calls, "Detect calls per figure");
  app.add_option("--rounds", options.rounds, "rounds per figure (the best is printed)");
  app.add_option("--seed", options.seed, "random seed");
  CLI11_PARSE(app, argc, argv);
  return herd::bench::Run(options);
}
