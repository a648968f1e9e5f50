#include "places/http_fetcher.h"

#include <curl/curl.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace herd {

struct HttpFetcher::Transfer {
  Transfer(HttpRequest r, Callback d) : request(std::move(r)), done(std::move(d)) {}
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }

  HttpRequest request;
  Callback done;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  size_t max_bytes = 0;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {};
};

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kMaxPollWait{1000};

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<HttpFetcher::Transfer*>(user);
  const size_t bytes = size * count;
  if (transfer->body.size() + bytes > transfer->max_bytes) {
    transfer->too_large = true;
    return 0;  // makes libcurl abort the transfer with CURLE_WRITE_ERROR
  }
  transfer->body.append(data, bytes);
  return bytes;
}

absl::Status TransportStatus(CURLcode code, const HttpFetcher::Transfer& transfer) {
  const std::string detail = transfer.error[0] != '\0' ? transfer.error : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OK:
      return absl::OkStatus();
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(detail);
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (code == CURLE_FILESIZE_EXCEEDED || transfer.too_large) {
        return absl::ResourceExhaustedError(
            absl::StrCat("response larger than ", transfer.max_bytes, " bytes"));
      }
      return absl::InternalError(detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_PROXY:
    case CURLE_WEIRD_SERVER_REPLY:
      return absl::UnavailableError(detail);
    default:
      return absl::InternalError(detail);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpFetcher>> HttpFetcher::Create(const Options& options) {
  if (options.max_in_flight == 0) {
    return absl::InvalidArgumentError("max_in_flight must be positive");
  }
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return absl::InternalError("curl_multi_init failed");
  // Idle connections kept for reuse: enough for every slot.
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(options.max_in_flight));
  return std::unique_ptr<HttpFetcher>(new HttpFetcher(options, multi));
}

HttpFetcher::HttpFetcher(const Options& options, void* multi)
    : options_(options), multi_(multi), thread_([this] { Loop(); }) {}

HttpFetcher::~HttpFetcher() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  curl_multi_wakeup(multi_);
  thread_.join();
  curl_multi_cleanup(multi_);
}

void HttpFetcher::Fetch(HttpRequest request, Callback done) {
  absl::Status refused;
  {
    absl::MutexLock l(&mu_);
    if (stopping_) {
      refused = absl::CancelledError("shutting down");
    } else if (in_flight_ + queued_.size() >= options_.max_in_flight + options_.max_queued) {
      refused = absl::ResourceExhaustedError(absl::StrCat(
          "too many requests in flight (", in_flight_, " running, ", queued_.size(), " waiting)"));
    } else {
      queued_.push_back(std::make_unique<Transfer>(std::move(request), std::move(done)));
    }
  }
  if (!refused.ok()) {
    HttpResponse response;
    response.transport = std::move(refused);
    std::move(done)(std::move(response));
    return;
  }
  curl_multi_wakeup(multi_);
}

void HttpFetcher::Loop() {
  CURLM* const multi = multi_;
  for (;;) {
    std::vector<std::unique_ptr<Transfer>> to_start;
    std::vector<std::unique_ptr<Transfer>> expired;
    {
      absl::MutexLock l(&mu_);
      if (stopping_) break;
      while (!queued_.empty() && in_flight_ < options_.max_in_flight) {
        to_start.push_back(std::move(queued_.front()));
        queued_.pop_front();
        ++in_flight_;
      }
      const auto now = steady_clock::now();
      for (auto it = queued_.begin(); it != queued_.end();) {
        if ((*it)->request.deadline <= now) {
          expired.push_back(std::move(*it));
          it = queued_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (std::unique_ptr<Transfer>& transfer : expired) {
      HttpResponse response;
      response.transport =
          absl::DeadlineExceededError("deadline passed while waiting for a free slot");
      std::move(transfer->done)(std::move(response));
    }
    for (std::unique_ptr<Transfer>& transfer : to_start) StartTransfer(std::move(transfer));
    int running = 0;
    curl_multi_perform(multi, &running);
    FinishDone();
    // Also returns early for libcurl's own timers and for curl_multi_wakeup().
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(NextWait().count()), nullptr);
  }

  // Shutting down: answer everything still pending.
  std::vector<std::unique_ptr<Transfer>> pending;
  {
    absl::MutexLock l(&mu_);
    for (auto& transfer : queued_) pending.push_back(std::move(transfer));
    queued_.clear();
  }
  for (Transfer* transfer : active_) {
    curl_multi_remove_handle(multi, transfer->easy);
    pending.emplace_back(transfer);
  }
  active_.clear();
  {
    absl::MutexLock l(&mu_);
    in_flight_ = 0;
  }
  for (std::unique_ptr<Transfer>& transfer : pending) {
    HttpResponse response;
    response.transport = absl::CancelledError("shutting down");
    std::move(transfer->done)(std::move(response));
  }
}

void HttpFetcher::StartTransfer(std::unique_ptr<Transfer> transfer) {
  const HttpRequest& request = transfer->request;
  const auto remaining = duration_cast<milliseconds>(request.deadline - steady_clock::now());
  if (remaining.count() <= 0) {
    HttpResponse response;
    response.transport = absl::DeadlineExceededError("deadline passed before the request started");
    Finish(std::move(transfer), std::move(response));
    return;
  }
  CURL* easy = curl_easy_init();
  if (easy == nullptr) {
    HttpResponse response;
    response.transport = absl::InternalError("curl_easy_init failed");
    Finish(std::move(transfer), std::move(response));
    return;
  }
  transfer->easy = easy;
  transfer->max_bytes = options_.max_response_bytes;
  for (const std::string& header : request.headers) {
    transfer->headers = curl_slist_append(transfer->headers, header.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  // A proxy would see a plain-http request (and any key in it) in the clear;
  // https goes through the environment's proxy, if any, as a tunnel.
  if (absl::StartsWithIgnoreCase(AsAbsl(request.url), "http://")) {
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
  }
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl decodes
  curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options_.max_response_bytes));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
  if (request.method == "POST") {
    transfer->headers = curl_slist_append(transfer->headers, "Expect:");
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
  if (const CURLMcode code = curl_multi_add_handle(multi_, easy); code != CURLM_OK) {
    HttpResponse response;
    response.transport =
        absl::InternalError(absl::StrCat("curl_multi_add_handle: ", curl_multi_strerror(code)));
    Finish(std::move(transfer), std::move(response));
    return;
  }
  active_.push_back(transfer.release());
}

void HttpFetcher::FinishDone() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* const easy = message->easy_handle;
    const CURLcode code = message->data.result;  // `message` dies with the handle
    const auto it = std::find_if(active_.begin(), active_.end(),
                                 [easy](const Transfer* t) { return t->easy == easy; });
    if (it == active_.end()) continue;
    std::unique_ptr<Transfer> transfer(*it);
    active_.erase(it);
    curl_multi_remove_handle(multi_, easy);
    HttpResponse response;
    response.transport = TransportStatus(code, *transfer);
    if (response.transport.ok()) {
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status_code);
      response.body = std::move(transfer->body);
    }
    Finish(std::move(transfer), std::move(response));
  }
}

void HttpFetcher::Finish(std::unique_ptr<Transfer> transfer, HttpResponse response) {
  {
    absl::MutexLock l(&mu_);
    --in_flight_;
  }
  Callback done = std::move(transfer->done);
  transfer.reset();  // frees the easy handle before the callback runs
  std::move(done)(std::move(response));
}

std::chrono::milliseconds HttpFetcher::NextWait() {
  milliseconds wait = kMaxPollWait;
  absl::MutexLock l(&mu_);
  // A slot freed up for a waiting request: start it now.
  if (!queued_.empty() && in_flight_ < options_.max_in_flight) return milliseconds(0);
  const auto now = steady_clock::now();
  for (const auto& transfer : queued_) {
    const auto left =
        duration_cast<milliseconds>(transfer->request.deadline - now) + milliseconds(1);
    wait = std::clamp(left, milliseconds(0), wait);
  }
  return wait;
}

}  // namespace herd
