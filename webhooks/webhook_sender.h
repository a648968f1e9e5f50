#ifndef HERD_WEBHOOKS_WEBHOOK_SENDER_H_
#define HERD_WEBHOOKS_WEBHOOK_SENDER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/server_log.h"
#include "herd/v1/fences.pb.h"
#include "places/http_fetcher.h"

namespace herd {

// POSTs fired fence events to their fences' webhook URLs, with retries.
//
// The body is the event as protobuf JSON (herd.v1.FenceEvent, field names
// as in the .proto: "fence_id", "nearby_client_id", enums by name), with
// `Content-Type: application/json` and `X-Herd-Event-Id: <event id>`, by
// which receivers de-duplicate retries. A 2xx answer delivers; a 5xx, a 429
// or a transport failure (refused, reset, no answer within `timeout`) is
// retried after first_backoff, doubling up to max_backoff (each wait drawn
// from its upper half at random, so that retries to one endpoint spread
// out), until max_attempts attempts were made; any other answer fails at
// once. Failures are logged (at a bounded rate), never with the URL's
// query string.
//
// Memory and fairness: at most max_queued events are held in all (waiting
// for a slot, in flight, or waiting for a retry), and at most
// max_queued_per_endpoint for one endpoint; Send() beyond either drops the
// event (counted, logged at a bounded rate). Requests run on an
// HttpFetcher (libcurl's multi interface on its thread), at most
// max_in_flight at once and at most max_in_flight_per_endpoint per endpoint
// (scheme, host and port), taken from the endpoints with waiting events in
// turn: an endpoint that hangs or fails holds only its own slots, and
// delivery to the others goes on. Retries wait on a thread of the sender's.
//
// Thread-safe. Send() never blocks (a short lock hold; the JSON is built
// before it). Destruction cancels what is pending (not counted) and joins.
class WebhookSender {
 public:
  struct Options {
    size_t max_queued = 10000;
    // Of those, at most this many for one endpoint: an endpoint that hangs
    // or fails fills its own share, never the others' room.
    size_t max_queued_per_endpoint = 1000;
    int max_attempts = 8;
    std::chrono::milliseconds first_backoff{500};
    std::chrono::milliseconds max_backoff{60000};
    std::chrono::milliseconds timeout{5000};  // per attempt
    size_t max_in_flight_per_endpoint = 4;
    size_t max_in_flight = 64;
    std::shared_ptr<ServerLog> log;  // null: no log
  };

  struct Counters {
    uint64_t delivered = 0;  // answered 2xx
    uint64_t retried = 0;    // attempts that were retried
    uint64_t failed = 0;     // gave up: a 4xx, a bad URL or max_attempts
    uint64_t dropped = 0;    // refused by Send: the queue was full
  };

  // REQUIRES: curl_global_init() was called (main, before threads).
  static absl::StatusOr<std::unique_ptr<WebhookSender>> Create(Options options);
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;
  ~WebhookSender();

  // Queues `event` for `webhook_url` (empty: nothing to do).
  void Send(const v1::FenceEvent& event, const std::string& webhook_url);
  // The same for a FiredEvent (fences/fence_book.h), or anything with its
  // `event` and `webhook_url`: a template because webhooks/ and fences/ are
  // one layer, and a library includes only the layers below its own.
  template <typename Fired>
  void Send(const Fired& fired) {
    Send(fired.event, fired.webhook_url);
  }

  Counters counters() const;
  // Events held now (waiting, in flight or waiting for a retry).
  size_t held() const;

  // The JSON body sent for `event`.
  static std::string ToJson(const v1::FenceEvent& event);
  // "scheme://host:port" of an http(s) URL, lower case, without user info;
  // empty if `url` is not http:// or https://.
  static std::string EndpointOf(std::string_view url);

 private:
  struct Delivery {
    std::string url;
    std::string endpoint;
    std::string event_id;
    std::shared_ptr<const std::string> body;
    int attempts = 0;  // made so far
  };
  struct Endpoint {
    std::deque<Delivery> waiting;
    size_t in_flight = 0;
    bool in_turn = false;  // in turns_
  };
  enum class Verdict { kDelivered, kRetry, kFail, kCancelled };

  WebhookSender(Options options, std::unique_ptr<HttpFetcher> fetcher);

  static Verdict Judge(const HttpResponse& response);
  // Puts `delivery` at the back of its endpoint's waiting events.
  void EnqueueLocked(Delivery delivery) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives `endpoint` a turn if it has waiting events and a free slot.
  void OfferTurnLocked(const std::string& key, Endpoint& endpoint)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The deliveries that may start now (slots taken for them).
  std::vector<Delivery> TakeStartableLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the requests. Not under mu_ (a refused Fetch answers at once).
  void Start(std::vector<Delivery> deliveries);
  // A request's outcome (on the fetcher's thread).
  void OnResponse(Delivery delivery, HttpResponse response);
  // What happens to a delivery after `verdict`; returns a line to log, if any.
  std::string SettleLocked(Delivery delivery, Verdict verdict, const HttpResponse& response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration BackoffLocked(int attempts) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `delivery` is no longer held (delivered, given up or cancelled).
  void ReleaseLocked(const Delivery& delivery) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `line` if a problem line may be logged now (at most one a second, with
  // the count of those held back since), else "" (counted).
  std::string ProblemLineLocked(std::string line) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Log(const std::string& line) const;
  // The retry thread: moves due retries back to their endpoints.
  void RetryLoop();

  // Constant after construction.
  const Options options_;
  std::unique_ptr<HttpFetcher> fetcher_owner_;  // reset first in the destructor
  HttpFetcher* const fetcher_;

  mutable absl::Mutex mu_;
  absl::CondVar retry_changed_;  // a retry was added, or stopping_
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  size_t held_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, size_t> held_by_endpoint_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Endpoint> endpoints_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> turns_ ABSL_GUARDED_BY(mu_);  // endpoints that may start one
  absl::btree_multimap<absl::Time, Delivery> retries_ ABSL_GUARDED_BY(mu_);
  Counters counters_ ABSL_GUARDED_BY(mu_);
  std::minstd_rand jitter_ ABSL_GUARDED_BY(mu_);
  absl::Time last_problem_log_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t suppressed_lines_ ABSL_GUARDED_BY(mu_) = 0;

  std::thread retry_thread_;  // last: started once everything above exists
};

}  // namespace herd

#endif  // HERD_WEBHOOKS_WEBHOOK_SENDER_H_
