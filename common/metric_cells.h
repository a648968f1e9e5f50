#ifndef HERD_COMMON_METRIC_CELLS_H_
#define HERD_COMMON_METRIC_CELLS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace herd {

// The slot of the calling thread among kMetricCells, assigned round-robin on
// its first use. Threads that share a slot only share a cache line.
inline constexpr int kMetricCells = 8;
inline int MetricCellOfThisThread() {
  static std::atomic<int> next{0};
  thread_local const int cell = next.fetch_add(1, std::memory_order_relaxed) % kMetricCells;
  return cell;
}

// A monotonic counter for hot paths: one relaxed atomic per thread slot, each
// on its own cache line, so edge threads never contend on a counter (no lock,
// no shared line). Read (summed) only at scrape time.
//
// Thread-safe.
class ShardedCounter {
 public:
  ShardedCounter() = default;
  ShardedCounter(const ShardedCounter&) = delete;
  ShardedCounter& operator=(const ShardedCounter&) = delete;

  void Add(uint64_t n = 1) {
    cells_[MetricCellOfThisThread()].value.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const {
    uint64_t sum = 0;
    for (const Cell& cell : cells_) sum += cell.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(64) Cell {
    std::atomic<uint64_t> value{0};
  };
  std::array<Cell, kMetricCells> cells_;
};

// A latency histogram with fixed log-linear buckets (1, 2.5, 5 per decade,
// from 1 microsecond to 10 seconds): Observe is a short scan of constants
// and two relaxed increments in the calling thread's slot. Bucket counts are
// per bucket (not cumulative); the exporter accumulates them at scrape time.
//
// Thread-safe.
class LatencyHistogram {
 public:
  // Upper bounds in nanoseconds; a last, implicit bucket is +Inf.
  static constexpr std::array<int64_t, 22> kBoundsNs = {
      1'000,         2'500,         5'000,         10'000,        25'000,      50'000,
      100'000,       250'000,       500'000,       1'000'000,     2'500'000,   5'000'000,
      10'000'000,    25'000'000,    50'000'000,    100'000'000,   250'000'000, 500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
  static constexpr size_t kBuckets = kBoundsNs.size() + 1;

  struct Snapshot {
    std::array<uint64_t, kBuckets> counts{};  // per bucket, last is +Inf
    uint64_t count = 0;
    double sum_seconds = 0;
  };

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Negative values count as 0.
  void ObserveNanos(int64_t ns) {
    if (ns < 0) ns = 0;
    size_t bucket = 0;
    while (bucket < kBoundsNs.size() && ns > kBoundsNs[bucket]) ++bucket;
    Cell& cell = cells_[MetricCellOfThisThread()];
    cell.counts[bucket].fetch_add(1, std::memory_order_relaxed);
    cell.sum_ns.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
  }
  void ObserveSeconds(double seconds) {
    ObserveNanos(seconds >= 1e9 ? INT64_MAX / 2 : static_cast<int64_t>(seconds * 1e9));
  }

  Snapshot Read() const {
    Snapshot snapshot;
    uint64_t sum_ns = 0;
    for (const Cell& cell : cells_) {
      for (size_t i = 0; i < kBuckets; ++i) {
        const uint64_t n = cell.counts[i].load(std::memory_order_relaxed);
        snapshot.counts[i] += n;
        snapshot.count += n;
      }
      sum_ns += cell.sum_ns.load(std::memory_order_relaxed);
    }
    snapshot.sum_seconds = static_cast<double>(sum_ns) / 1e9;
    return snapshot;
  }

 private:
  struct alignas(64) Cell {
    std::array<std::atomic<uint64_t>, kBuckets> counts{};
    std::atomic<uint64_t> sum_ns{0};
  };
  std::array<Cell, kMetricCells> cells_;
};

}  // namespace herd

#endif  // HERD_COMMON_METRIC_CELLS_H_
