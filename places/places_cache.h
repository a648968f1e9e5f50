#ifndef HERD_PLACES_PLACES_CACHE_H_
#define HERD_PLACES_PLACES_CACHE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "places/places_provider.h"

namespace herd {

// A PlacesProvider in front of another that remembers answers per (latitude,
// longitude, radius) for a short time, so repeated WHATSATs spend no quota,
// and that collapses concurrent identical questions into one (single-flight):
// while a question is being answered upstream, the same question joins it.
//
// The inner provider is always asked for kMaxResults results; each
// caller gets the first `max_results` of them, so WHATSATs that differ only
// in their bound share one upstream request. Only OK and ZERO_RESULTS answers
// are kept; failures reach everyone waiting at the time, then are forgotten.
// At most `max_entries` answers are kept, least recently used dropped first.
// Each kept answer also keeps its rendered text (RenderedNow) for the last
// kRenderedPerAnswer bounds asked, so a hit costs a lookup and no JSON work.
//
// Thread-safe. `done` runs on the caller's thread before Nearby() returns for
// a cached answer, else wherever the inner provider answers; never under the
// cache's lock. Destroying the cache destroys the inner provider first, which
// answers whatever it still has pending.
class CachingPlacesProvider : public PlacesProvider {
 public:
  // Monotonic time; injected so tests can move it.
  using MonotonicClock = std::function<std::chrono::steady_clock::time_point()>;

  struct Options {
    std::chrono::milliseconds ttl{60'000};  // 0: no caching, single-flight only
    size_t max_entries = 1000;              // a full answer is some tens of KiB in memory
    MonotonicClock clock;                   // empty: std::chrono::steady_clock::now
  };

  struct Stats {
    uint64_t hits = 0;    // answered from the cache
    uint64_t misses = 0;  // sent upstream
    uint64_t joined = 0;  // waited for an identical question already upstream
    size_t entries = 0;   // answers kept now
  };

  // REQUIRES: inner != nullptr.
  CachingPlacesProvider(std::unique_ptr<PlacesProvider> inner, Options options);
  CachingPlacesProvider(const CachingPlacesProvider&) = delete;
  CachingPlacesProvider& operator=(const CachingPlacesProvider&) = delete;
  ~CachingPlacesProvider() override;

  // Rendered texts kept per answer (for different bounds).
  static constexpr size_t kRenderedPerAnswer = 2;

  void Nearby(const PlacesQuery& query, Callback done) override;
  // A hit (counted as one) renders the first max_results results once per
  // answer and bound; a miss or a question still upstream gives null and
  // counts nothing.
  std::shared_ptr<const PlacesText> RenderedNow(const PlacesQuery& query) override;

  Stats stats() const;

 private:
  using Key = std::tuple<double, double, double>;  // latitude, longitude, radius_km
  using Clock = std::chrono::steady_clock;

  struct Waiter {
    int max_results;
    Callback done;
  };
  struct Entry {
    bool pending = true;
    std::vector<Waiter> waiters;                   // while pending
    std::shared_ptr<const nlohmann::json> answer;  // when not pending
    Clock::time_point expires;                     // when not pending
    std::list<Key>::iterator lru;                  // when not pending
    // (max_results, its text), newest last; at most kRenderedPerAnswer.
    std::vector<std::pair<int, std::shared_ptr<const PlacesText>>> rendered;
  };

  void OnAnswer(const Key& key, nlohmann::json answer);
  // Keeps `text` with the entry for `key` if it still holds `answer`.
  void KeepRendered(const Key& key, const nlohmann::json* answer, int max_results,
                    std::shared_ptr<const PlacesText> text);
  // The entry at `it` if it holds an answer still fresh at `now`, counted
  // as a hit and made the most recently used; else null.
  const Entry* FreshLocked(absl::flat_hash_map<Key, Entry>::iterator it, Clock::time_point now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // REQUIRES: mu_ held.
  void EvictLocked(Clock::time_point now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const Options options_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::list<Key> lru_ ABSL_GUARDED_BY(mu_);  // kept answers, most recently used first
  Stats stats_ ABSL_GUARDED_BY(mu_);

  // Set once; reset first by the destructor, while the members above live.
  std::unique_ptr<PlacesProvider> inner_;
};

}  // namespace herd

#endif  // HERD_PLACES_PLACES_CACHE_H_
