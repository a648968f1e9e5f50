#ifndef HERD_PLACES_HTTP_FETCHER_H_
#define HERD_PLACES_HTTP_FETCHER_H_

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace herd {

// One HTTP request for HttpFetcher.
struct HttpRequest {
  std::string method = "GET";        // "GET" or "POST"
  std::string url;                   // http:// or https:// only
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent for POST
  // The answer comes by then, whatever the upstream does: time spent waiting
  // for a free slot counts too.
  std::chrono::steady_clock::time_point deadline;
};

// What came back. `transport` is OK when an HTTP response arrived (whatever
// its status code); otherwise it says why not:
//   DEADLINE_EXCEEDED   the deadline passed (connecting, waiting, reading)
//   UNAVAILABLE         refused, reset, unresolvable, TLS failure
//   RESOURCE_EXHAUSTED  too many requests waiting, or the body is too large
//   CANCELLED           the fetcher is shutting down
//   INTERNAL            anything else libcurl reports
struct HttpResponse {
  absl::Status transport;
  long status_code = 0;
  std::string body;
};

// Runs HTTP requests with libcurl's multi interface on a thread of its own,
// so callers never block on the network.
//
// At most `max_in_flight` transfers run at once; up to `max_queued` more wait
// for a slot (their deadlines running); beyond that Fetch() fails fast with
// RESOURCE_EXHAUSTED. Connections are kept alive and reused by the multi
// handle's connection cache. Redirects are never followed, and plain http://
// URLs never go through a proxy, so what a request carries (an API key) goes
// only to the URL it names.
//
// REQUIRES: curl_global_init() was called before any thread started (main).
//
// Thread-safe: Fetch() may be called from any thread. Callbacks run on the
// fetcher's thread (or on the caller's, before Fetch() returns, when it fails
// fast), never under a lock of the fetcher; they must not block. Destroying
// the fetcher answers everything still pending with CANCELLED and joins the
// thread; it must not be destroyed from one of its own callbacks.
class HttpFetcher {
 public:
  struct Options {
    size_t max_in_flight = 16;
    size_t max_queued = 256;
    size_t max_response_bytes = 4 << 20;
    std::string user_agent = "herd";
  };
  using Callback = absl::AnyInvocable<void(HttpResponse) &&>;

  static absl::StatusOr<std::unique_ptr<HttpFetcher>> Create(const Options& options);
  HttpFetcher(const HttpFetcher&) = delete;
  HttpFetcher& operator=(const HttpFetcher&) = delete;
  ~HttpFetcher();

  // Starts `request`; `done` runs exactly once with the outcome.
  void Fetch(HttpRequest request, Callback done);

  struct Transfer;  // one request's libcurl state; opaque

 private:
  HttpFetcher(const Options& options, void* multi);
  void Loop();
  // Loop helpers: on the fetcher thread only.
  void StartTransfer(std::unique_ptr<Transfer> transfer);
  void FinishDone();
  std::chrono::milliseconds NextWait();
  void Finish(std::unique_ptr<Transfer> transfer, HttpResponse response);

  // Constant after construction.
  const Options options_;
  void* const multi_;  // CURLM*, used by the fetcher thread (and curl_multi_wakeup)

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::unique_ptr<Transfer>> queued_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;

  // Used by the fetcher thread only: the transfers libcurl is running, owned
  // here (released from their unique_ptr while attached to multi_).
  std::vector<Transfer*> active_;

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace herd

#endif  // HERD_PLACES_HTTP_FETCHER_H_
