#ifndef HERD_TESTS_PLACES_FAKE_GOOGLE_SERVER_H_
#define HERD_TESTS_PLACES_FAKE_GOOGLE_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/asio.h"

namespace herd::testing {

// One request as the fake server saw it.
struct RecordedRequest {
  uint64_t connection = 0;  // 1, 2, ... in the order connections were accepted
  std::string method;
  std::string target;  // path and query, as sent
  std::string path;
  std::string query;                           // after '?', still encoded
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  // The header's value, "" when absent. `name` in any case.
  std::string Header(const std::string& name) const;
  // The query's parameters, percent-decoded.
  std::map<std::string, std::string> QueryParams() const;
};

// What the fake server does with a request.
struct ScriptedResponse {
  enum class Mode {
    kAnswer,  // send `status` and `body`
    kHold,    // wait until Release(), then answer
    kHang,    // never answer (keep the connection open until the server stops)
    kClose,   // close the connection without answering
  };
  int status = 200;
  std::string body = "{}";
  std::string content_type = "application/json; charset=UTF-8";
  std::map<std::string, std::string> headers = {};  // more response headers
  Mode mode = Mode::kAnswer;
};

// A real HTTP/1.1 server on 127.0.0.1 (port 0, the kernel picks) that answers
// like Google Places, as scripted by the test, and records every request.
// Keeps connections alive when the client asks to. Runs on a thread of its own.
//
// Thread-safe.
class FakeGoogleServer {
 public:
  using Handler = std::function<ScriptedResponse(const RecordedRequest&)>;

  FakeGoogleServer();
  ~FakeGoogleServer();
  FakeGoogleServer(const FakeGoogleServer&) = delete;
  FakeGoogleServer& operator=(const FakeGoogleServer&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT"
  std::string url() const;

  // Every later request gets `response`.
  void Respond(ScriptedResponse response);
  // Every later request gets what `handler` says (called on the server thread).
  void SetHandler(Handler handler);

  // Answers the requests held so far (ScriptedResponse::Mode::kHold).
  void Release();

  std::vector<RecordedRequest> requests() const;
  size_t request_count() const;
  size_t connection_count() const;
  // Waits until at least `count` requests arrived; false after `timeout`.
  bool WaitForRequests(size_t count,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  asio::awaitable<void> Accept();
  asio::awaitable<void> Serve(tcp::socket socket, uint64_t connection);

  asio::io_context io_;  // first: destroyed last
  tcp::acceptor acceptor_;
  asio::steady_timer release_;  // held requests wait on it; Release() cancels
  uint16_t port_ = 0;

  mutable absl::Mutex mu_;
  Handler handler_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedRequest> requests_ ABSL_GUARDED_BY(mu_);
  uint64_t connections_ ABSL_GUARDED_BY(mu_) = 0;

  std::thread thread_;
};

// A loopback port where nothing listens (connections are refused).
uint16_t RefusedPort();

// A Places API (New) searchNearby answer with `count` places, "Place 0",
// "Place 1"..., each with every field the field mask asks for.
std::string PlacesNewBody(int count);
// A legacy Nearby Search answer with `count` results and `status`.
std::string LegacyBody(int count, const std::string& status = "OK");

}  // namespace herd::testing

#endif  // HERD_TESTS_PLACES_FAKE_GOOGLE_SERVER_H_
