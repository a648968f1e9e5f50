#ifndef HERD_BENCH_HISTOGRAM_H_
#define HERD_BENCH_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace herd::bench {

// Latencies in nanoseconds, log-linear buckets (1/64 of a power of two, so
// under 2% error), fixed 32 KiB whatever the number of samples. Not
// thread-safe: one per connection, merged at the end.
class Histogram {
 public:
  void Add(uint64_t nanos) {
    ++buckets_[Bucket(nanos)];
    ++count_;
  }
  void Merge(const Histogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
    count_ += other.count_;
  }
  uint64_t count() const { return count_; }

  // The value below which `fraction` of the samples fall (upper bucket edge).
  uint64_t Percentile(double fraction) const {
    if (count_ == 0) return 0;
    const uint64_t rank = std::min<uint64_t>(
        count_ - 1, static_cast<uint64_t>(fraction * static_cast<double>(count_)));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i];
      if (seen > rank) return UpperEdge(i);
    }
    return UpperEdge(kBuckets - 1);
  }

 private:
  static constexpr int kSubBits = 6;
  static constexpr size_t kBuckets = 64 << kSubBits;

  static size_t Bucket(uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<size_t>(v);
    const int exponent = 63 - std::countl_zero(v);  // >= kSubBits
    const uint64_t mantissa = (v >> (exponent - kSubBits)) & ((1u << kSubBits) - 1);
    return (static_cast<size_t>(exponent - kSubBits + 1) << kSubBits) + mantissa;
  }
  static uint64_t UpperEdge(size_t bucket) {
    if (bucket < (1u << kSubBits)) return bucket + 1;
    const int exponent = static_cast<int>(bucket >> kSubBits) + kSubBits - 1;
    const uint64_t mantissa = bucket & ((1u << kSubBits) - 1);
    return ((uint64_t{1} << kSubBits) + mantissa + 1) << (exponent - kSubBits);
  }

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
};

}  // namespace herd::bench

#endif  // HERD_BENCH_HISTOGRAM_H_
