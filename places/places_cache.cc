#include "places/places_cache.h"

#include <utility>

#include "absl/base/macros.h"

namespace herd {
namespace {

using nlohmann::json;

// `full` with only its first `max_results` results, copying no more than that.
json FirstResults(const json& full, int max_results) {
  json out = json::object();
  for (auto it = full.begin(); it != full.end(); ++it) {
    if (it.key() != "results" || !it->is_array()) {
      out[it.key()] = *it;
      continue;
    }
    json results = json::array();
    for (const json& result : *it) {
      if (static_cast<int>(results.size()) >= max_results) break;
      results.push_back(result);
    }
    out["results"] = std::move(results);
  }
  return out;
}

bool Cacheable(const json& answer) {
  const auto status = answer.find("status");
  return status != answer.end() && status->is_string() &&
         (*status == "OK" || *status == "ZERO_RESULTS");
}

}  // namespace

CachingPlacesProvider::CachingPlacesProvider(std::unique_ptr<PlacesProvider> inner, Options options)
    : options_([&] {
        if (!options.clock) options.clock = [] { return Clock::now(); };
        return std::move(options);
      }()),
      inner_(std::move(inner)) {
  ABSL_ASSERT(inner_ != nullptr);
}

CachingPlacesProvider::~CachingPlacesProvider() { inner_.reset(); }

void CachingPlacesProvider::Nearby(const PlacesQuery& query, Callback done) {
  if (!IsValidPlacesQuery(query)) {
    std::move(done)(PlacesFailure("INVALID_REQUEST"));
    return;
  }
  const Key key{query.latitude, query.longitude, query.radius_km};
  const Clock::time_point now = options_.clock();
  std::shared_ptr<const json> hit;
  {
    absl::MutexLock l(&mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.pending) {
      ++stats_.joined;
      it->second.waiters.push_back({query.max_results, std::move(done)});
      return;
    }
    if (const Entry* fresh = FreshLocked(it, now)) {
      hit = fresh->answer;
    } else {
      ++stats_.misses;
      if (it == entries_.end()) {
        it = entries_.try_emplace(key).first;
      } else {  // expired: ask again
        lru_.erase(it->second.lru);
        it->second = Entry();
      }
      it->second.waiters.push_back({query.max_results, std::move(done)});
    }
  }
  if (hit != nullptr) {
    std::move(done)(FirstResults(*hit, query.max_results));
    return;
  }
  PlacesQuery upstream = query;
  upstream.max_results = kMaxResults;
  inner_->Nearby(upstream, [this, key](json answer) { OnAnswer(key, std::move(answer)); });
}

std::shared_ptr<const PlacesText> CachingPlacesProvider::RenderedNow(const PlacesQuery& query) {
  if (!IsValidPlacesQuery(query)) return nullptr;
  const Key key{query.latitude, query.longitude, query.radius_km};
  const Clock::time_point now = options_.clock();
  std::shared_ptr<const json> answer;
  {
    absl::MutexLock l(&mu_);
    const Entry* fresh = FreshLocked(entries_.find(key), now);
    if (fresh == nullptr) return nullptr;
    for (const auto& [max_results, text] : fresh->rendered) {
      if (max_results == query.max_results) return text;
    }
    answer = fresh->answer;
  }
  // Rendered outside the lock; a racing caller may render it too.
  auto text = std::make_shared<const PlacesText>(
      RenderPlacesText(FirstResults(*answer, query.max_results)));
  KeepRendered(key, answer.get(), query.max_results, text);
  return text;
}

const CachingPlacesProvider::Entry* CachingPlacesProvider::FreshLocked(
    absl::flat_hash_map<Key, Entry>::iterator it, Clock::time_point now) {
  if (it == entries_.end() || it->second.pending || now >= it->second.expires) return nullptr;
  ++stats_.hits;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return &it->second;
}

void CachingPlacesProvider::KeepRendered(const Key& key, const json* answer, int max_results,
                                         std::shared_ptr<const PlacesText> text) {
  absl::MutexLock l(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.answer.get() != answer) return;  // replaced meanwhile
  auto& rendered = it->second.rendered;
  for (const auto& kept : rendered) {
    if (kept.first == max_results) return;
  }
  if (rendered.size() >= kRenderedPerAnswer) rendered.erase(rendered.begin());
  rendered.emplace_back(max_results, std::move(text));
}

void CachingPlacesProvider::OnAnswer(const Key& key, json answer) {
  const bool keep = options_.ttl.count() > 0 && Cacheable(answer);
  const auto shared = std::make_shared<const json>(std::move(answer));
  const Clock::time_point now = options_.clock();
  std::vector<Waiter> waiters;
  {
    absl::MutexLock l(&mu_);
    const auto it = entries_.find(key);
    if (it == entries_.end()) return;  // cannot happen: pending entries stay
    waiters = std::move(it->second.waiters);
    if (keep) {
      Entry& entry = it->second;
      entry.pending = false;
      entry.waiters.clear();
      entry.answer = shared;
      entry.expires = now + options_.ttl;
      lru_.push_front(key);
      entry.lru = lru_.begin();
      EvictLocked(now);
    } else {
      entries_.erase(it);
    }
    stats_.entries = lru_.size();
  }
  for (Waiter& waiter : waiters) {
    std::move(waiter.done)(FirstResults(*shared, waiter.max_results));
  }
}

void CachingPlacesProvider::EvictLocked(Clock::time_point now) {
  mu_.AssertHeld();
  // Expired answers at the cold end go first, then whatever is over the bound.
  while (!lru_.empty()) {
    const auto it = entries_.find(lru_.back());
    const bool expired = it->second.expires <= now;
    if (!expired && lru_.size() <= options_.max_entries) break;
    entries_.erase(it);
    lru_.pop_back();
  }
}

CachingPlacesProvider::Stats CachingPlacesProvider::stats() const {
  absl::MutexLock l(&mu_);
  Stats out = stats_;
  out.entries = lru_.size();
  return out;
}

}  // namespace herd
