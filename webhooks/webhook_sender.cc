#include "webhooks/webhook_sender.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/escape.h"
#include "common/strings.h"

namespace herd {
namespace {

// Problem lines (drops, failures) logged at most this often.
constexpr absl::Duration kProblemLogInterval = absl::Seconds(1);

std::string DescribeAnswer(const HttpResponse& response) {
  if (!response.transport.ok()) return std::string(AsStd(response.transport.ToString()));
  return absl::StrCat("HTTP ", response.status_code);
}

}  // namespace

absl::StatusOr<std::unique_ptr<WebhookSender>> WebhookSender::Create(Options options) {
  if (options.max_attempts < 1 || options.max_in_flight == 0 ||
      options.max_in_flight_per_endpoint == 0 || options.first_backoff.count() < 0 ||
      options.max_backoff < options.first_backoff) {
    return absl::InvalidArgumentError(
        "webhooks: max_attempts, max_in_flight and max_in_flight_per_endpoint must be > 0, "
        "and 0 <= first_backoff <= max_backoff");
  }
  HttpFetcher::Options fetcher_options;
  // The sender never has more requests out than this: the fetcher's own
  // queue stays empty.
  fetcher_options.max_in_flight = options.max_in_flight;
  fetcher_options.max_queued = options.max_in_flight;
  fetcher_options.max_response_bytes = 64 << 10;  // the answer's body is not used
  fetcher_options.user_agent = "herd-webhooks";
  absl::StatusOr<std::unique_ptr<HttpFetcher>> fetcher = HttpFetcher::Create(fetcher_options);
  if (!fetcher.ok()) return fetcher.status();
  return std::unique_ptr<WebhookSender>(new WebhookSender(std::move(options), *std::move(fetcher)));
}

WebhookSender::WebhookSender(Options options, std::unique_ptr<HttpFetcher> fetcher)
    : options_(std::move(options)),
      fetcher_owner_(std::move(fetcher)),
      fetcher_(fetcher_owner_.get()),
      jitter_(std::random_device{}()),
      retry_thread_(&WebhookSender::RetryLoop, this) {}

WebhookSender::~WebhookSender() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    retries_.clear();
    retry_changed_.SignalAll();
  }
  retry_thread_.join();
  // Answers the requests in flight with CANCELLED (OnResponse, on the
  // fetcher's thread, starts nothing more) and joins its thread.
  fetcher_owner_.reset();
}

std::string WebhookSender::ToJson(const v1::FenceEvent& event) {
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(event, &json, print).ok()) return "{}";
  return json;
}

std::string WebhookSender::EndpointOf(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  std::string scheme = absl::AsciiStrToLower(AsAbsl(url.substr(0, scheme_end)));
  if (scheme != "http" && scheme != "https") return "";
  std::string_view authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return "";
  return absl::StrCat(scheme, "://", absl::AsciiStrToLower(AsAbsl(authority)));
}

void WebhookSender::Send(const v1::FenceEvent& event, const std::string& webhook_url) {
  if (webhook_url.empty()) return;
  Delivery delivery;
  delivery.endpoint = EndpointOf(webhook_url);
  delivery.url = webhook_url;
  delivery.event_id = event.id();
  // Built before the lock (also for an event that is then dropped: the
  // exception), so the lock is held for bookkeeping only.
  if (!delivery.endpoint.empty()) {
    delivery.body = std::make_shared<const std::string>(ToJson(event));
  }
  std::string line;
  std::vector<Delivery> start;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (delivery.endpoint.empty()) {
      ++counters_.failed;
      line = ProblemLineLocked(absl::StrCat("webhook for event ", delivery.event_id, " failed: ",
                                            LoggableUrl(delivery.url), " is not an http(s) URL"));
    } else if (held_ >= options_.max_queued) {
      ++counters_.dropped;
      line = ProblemLineLocked(absl::StrCat("webhook queue full (", options_.max_queued,
                                            " events): dropped ", delivery.event_id, ", ",
                                            counters_.dropped, " dropped so far"));
    } else if (held_by_endpoint_[delivery.endpoint] >= options_.max_queued_per_endpoint) {
      ++counters_.dropped;
      line = ProblemLineLocked(absl::StrCat(
          "webhook queue of ", delivery.endpoint, " full (", options_.max_queued_per_endpoint,
          " events): dropped ", delivery.event_id, ", ", counters_.dropped, " dropped so far"));
    } else {
      ++held_;
      ++held_by_endpoint_[delivery.endpoint];
      EnqueueLocked(std::move(delivery));
      start = TakeStartableLocked();
    }
  }
  Log(line);
  Start(std::move(start));
}

void WebhookSender::EnqueueLocked(Delivery delivery) {
  const std::string key = delivery.endpoint;
  Endpoint& endpoint = endpoints_[key];
  endpoint.waiting.push_back(std::move(delivery));
  OfferTurnLocked(key, endpoint);
}

void WebhookSender::OfferTurnLocked(const std::string& key, Endpoint& endpoint) {
  if (endpoint.in_turn || endpoint.waiting.empty() ||
      endpoint.in_flight >= options_.max_in_flight_per_endpoint) {
    return;
  }
  endpoint.in_turn = true;
  turns_.push_back(key);
}

std::vector<WebhookSender::Delivery> WebhookSender::TakeStartableLocked() {
  std::vector<Delivery> startable;
  if (stopping_) return startable;
  while (in_flight_ < options_.max_in_flight && !turns_.empty()) {
    const std::string key = std::move(turns_.front());
    turns_.pop_front();
    const auto it = endpoints_.find(key);
    if (it == endpoints_.end()) continue;
    Endpoint& endpoint = it->second;
    endpoint.in_turn = false;
    if (endpoint.waiting.empty() || endpoint.in_flight >= options_.max_in_flight_per_endpoint) {
      continue;
    }
    startable.push_back(std::move(endpoint.waiting.front()));
    endpoint.waiting.pop_front();
    ++endpoint.in_flight;
    ++in_flight_;
    OfferTurnLocked(key, endpoint);  // to the back: endpoints take turns
  }
  return startable;
}

void WebhookSender::Start(std::vector<Delivery> deliveries) {
  for (Delivery& delivery : deliveries) {
    ++delivery.attempts;
    HttpRequest request;
    request.method = "POST";
    request.url = delivery.url;
    request.headers = {"Content-Type: application/json",
                       absl::StrCat("X-Herd-Event-Id: ", delivery.event_id)};
    request.body = *delivery.body;
    request.deadline = std::chrono::steady_clock::now() + options_.timeout;
    fetcher_->Fetch(std::move(request),
                    [this, delivery = std::move(delivery)](HttpResponse response) mutable {
                      OnResponse(std::move(delivery), std::move(response));
                    });
  }
}

WebhookSender::Verdict WebhookSender::Judge(const HttpResponse& response) {
  if (!response.transport.ok()) {
    return response.transport.code() == absl::StatusCode::kCancelled ? Verdict::kCancelled
                                                                     : Verdict::kRetry;
  }
  const long code = response.status_code;
  if (code >= 200 && code < 300) return Verdict::kDelivered;
  if (code >= 500 || code == 429) return Verdict::kRetry;
  return Verdict::kFail;
}

void WebhookSender::OnResponse(Delivery delivery, HttpResponse response) {
  const Verdict verdict = Judge(response);
  std::string line;
  std::vector<Delivery> start;
  {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    const std::string key = delivery.endpoint;
    const auto endpoint = endpoints_.find(key);
    if (endpoint != endpoints_.end()) --endpoint->second.in_flight;
    line = SettleLocked(std::move(delivery), verdict, response);
    if (endpoint != endpoints_.end()) {
      OfferTurnLocked(key, endpoint->second);
      if (endpoint->second.in_flight == 0 && endpoint->second.waiting.empty()) {
        endpoints_.erase(endpoint);  // in no turn: it had nothing waiting
      }
    }
    start = TakeStartableLocked();
  }
  Log(line);
  Start(std::move(start));
}

void WebhookSender::ReleaseLocked(const Delivery& delivery) {
  --held_;
  const auto it = held_by_endpoint_.find(delivery.endpoint);
  if (it != held_by_endpoint_.end() && --it->second == 0) held_by_endpoint_.erase(it);
}

std::string WebhookSender::SettleLocked(Delivery delivery, Verdict verdict,
                                        const HttpResponse& response) {
  if (stopping_ || verdict == Verdict::kCancelled) {
    ReleaseLocked(delivery);
    return "";
  }
  if (verdict == Verdict::kDelivered) {
    ++counters_.delivered;
    ReleaseLocked(delivery);
    return "";
  }
  if (verdict == Verdict::kRetry && delivery.attempts < options_.max_attempts) {
    ++counters_.retried;
    retries_.emplace(absl::Now() + BackoffLocked(delivery.attempts), std::move(delivery));
    retry_changed_.Signal();
    return "";
  }
  ++counters_.failed;
  ReleaseLocked(delivery);
  return ProblemLineLocked(
      absl::StrCat("webhook for event ", delivery.event_id, " to ", LoggableUrl(delivery.url),
                   " failed after ", delivery.attempts, " attempt(s): ", DescribeAnswer(response)));
}

absl::Duration WebhookSender::BackoffLocked(int attempts) {
  // first_backoff * 2^(attempts - 1), at most max_backoff.
  absl::Duration backoff = absl::FromChrono(options_.first_backoff);
  const absl::Duration most = absl::FromChrono(options_.max_backoff);
  for (int i = 1; i < attempts && backoff < most; ++i) backoff *= 2;
  backoff = std::min(backoff, most);
  // Drawn from [backoff / 2, backoff].
  const int64_t half_us = absl::ToInt64Microseconds(backoff / 2);
  std::uniform_int_distribution<int64_t> extra(0, std::max<int64_t>(half_us, 0));
  return backoff - absl::Microseconds(half_us) + absl::Microseconds(extra(jitter_));
}

std::string WebhookSender::ProblemLineLocked(std::string line) {
  const absl::Time now = absl::Now();
  if (now - last_problem_log_ < kProblemLogInterval) {
    ++suppressed_lines_;
    return "";
  }
  last_problem_log_ = now;
  if (suppressed_lines_ > 0) {
    absl::StrAppend(&line, " (and ", suppressed_lines_, " more such lines not logged)");
    suppressed_lines_ = 0;
  }
  return line;
}

void WebhookSender::Log(const std::string& line) const {
  if (!line.empty() && options_.log != nullptr) options_.log->Warn("{}", line);
}

void WebhookSender::RetryLoop() {
  for (;;) {
    std::vector<Delivery> start;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && (retries_.empty() || retries_.begin()->first > absl::Now())) {
        if (retries_.empty()) {
          retry_changed_.Wait(&mu_);
        } else {
          retry_changed_.WaitWithDeadline(&mu_, retries_.begin()->first);
        }
      }
      if (stopping_) return;
      const absl::Time now = absl::Now();
      while (!retries_.empty() && retries_.begin()->first <= now) {
        EnqueueLocked(std::move(retries_.begin()->second));
        retries_.erase(retries_.begin());
      }
      start = TakeStartableLocked();
    }
    Start(std::move(start));
  }
}

WebhookSender::Counters WebhookSender::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

size_t WebhookSender::held() const {
  absl::MutexLock lock(&mu_);
  return held_;
}

}  // namespace herd
