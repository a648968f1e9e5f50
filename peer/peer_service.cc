#include "peer/peer_service.h"

#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "common/strings.h"
#include "absl/synchronization/mutex.h"
#include "peer/record_codec.h"

namespace herd {
namespace {

// How far the herd's clocks may disagree before a neighbour's record looks
// forged (see FloodReceiver::TooFarAhead).
constexpr int64_t kClockSlackSeconds = 60;

}  // namespace

// One inbound Flood stream (a gRPC server reactor): PeerHello, then batches
// to apply; answers PeerWelcome, then acknowledgements, one write in flight
// (a newer acknowledgement replaces one not yet sent). Owns itself: deleted
// in OnDone.
class PeerService::FloodReceiver
    : public grpc::ServerBidiReactor<v1::FloodRequest, v1::FloodResponse> {
 public:
  FloodReceiver(PeerService* service, grpc::CallbackServerContext* context)
      : service_(service), context_(context) {
    StartRead(&request_);
  }

 private:
  void OnReadDone(bool ok) override {
    if (!ok) {  // the sender closed or went away
      FinishWhenIdle(grpc::Status::OK);
      return;
    }
    if (sender_.empty()) {
      if (!Greet()) return;
    } else if (!request_.has_hello()) {
      ApplyBatch(request_);
    } else {
      FinishWhenIdle(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "PeerHello comes once, first; then batches"));
      return;
    }
    StartRead(&request_);
  }

  // Checks the PeerHello and answers it; false if the stream was refused.
  bool Greet() {
    if (!request_.has_hello()) {
      FinishWhenIdle(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "the first message must be PeerHello"));
      return false;
    }
    const v1::PeerHello& hello = request_.hello();
    // The name is the caller's until checked: shown escaped and cut short.
    const std::string name =
        absl::CHexEscape(AsAbsl(std::string_view(hello.name()).substr(0, 64)));
    // The certificate first, so that a caller without one learns nothing,
    // not even which names are neighbours.
    if (service_->require_certificates_ && !service_->CallerIs(context_, hello.name())) {
      service_->log_->Warn("peer: refused a stream claiming to be \"{}\": its certificate "
                           "does not name it (peer {})",
                           name, context_->peer());
      FinishWhenIdle(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "a Flood stream needs a client certificate from the herd's "
                                  "CA that names \"" + name + "\""));
      return false;
    }
    auto it = service_->counters_.find(hello.name());
    if (it == service_->counters_.end()) {
      service_->log_->Warn("peer: refused a stream from \"{}\": not a neighbour of {}", name,
                           service_->self_name_);
      FinishWhenIdle(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                  "\"" + name + "\" is not a neighbour of " +
                                      service_->self_name_));
      return false;
    }
    sender_ = hello.name();
    sender_epoch_ = hello.epoch();
    counters_ = it->second.get();
    counters_->open_streams.fetch_add(1);
    std::optional<std::string> resume =
        service_->resume_book_.ResumePoint(sender_, sender_epoch_);
    service_->log_->Info("peer {}: inbound stream opened ({})", sender_,
                         resume ? "resuming" : "expecting its full state");
    if (service_->on_accepted_) service_->on_accepted_(sender_);
    v1::FloodResponse welcome;
    welcome.mutable_welcome()->set_name(service_->self_name_);
    welcome.mutable_welcome()->set_epoch(service_->epoch_);
    welcome.mutable_welcome()->set_resume(resume.has_value());
    // The sender's own cursor bytes, echoed: a cursor that does not parse is
    // sent empty, and the sender, finding it no point of its feed, starts over.
    if (resume) welcome.mutable_welcome()->mutable_cursor()->ParseFromString(*resume);
    Send(std::move(welcome));
    return true;
  }

  // Propagation lag of an accepted record: now minus its receive time at
  // its origin (client time plus skew).
  void ObserveLag(ServerMetrics::Neighbour* neighbour, const RecordView& record,
                  int64_t now_ns) {
    double client_time = 0, skew = 0;
    if (!absl::SimpleAtod(AsAbsl(record.client_time), &client_time) ||
        !absl::SimpleAtod(AsAbsl(record.skew), &skew)) {
      return;
    }
    neighbour->propagation_lag.ObserveSeconds(static_cast<double>(now_ns) / 1e9 -
                                              (client_time + skew));
  }

  // Applies a batch (records viewed in place in the parsed message, not
  // copied) and acknowledges it.
  void ApplyBatch(const v1::FloodRequest& batch) {
    const Store::Source source{sender_, sender_epoch_};
    const int64_t now = service_->clock_();
    uint64_t accepted = 0, rejected = 0, too_far_ahead = 0;
    ServerMetrics::Neighbour* neighbour =
        service_->metrics_ ? service_->metrics_->FindNeighbour(sender_) : nullptr;
    if (neighbour != nullptr) neighbour->last_received_ns.store(now, std::memory_order_relaxed);
    for (const v1::Record& wire : batch.records()) {
      std::optional<RecordView> record = ViewOf(wire);
      if (!record) {
        ++rejected;
        continue;
      }
      if (TooFarAhead(*record, now)) {
        ++too_far_ahead;
        continue;
      }
      const bool won = service_->store_->Apply(*record, source) == Store::Outcome::kAccepted;
      if (won) ++accepted;
      if (service_->metrics_) {
        service_->metrics_->CountRecord(ServerMetrics::kPeer, won);
        if (won && neighbour != nullptr) ObserveLag(neighbour, *record, now);
      }
    }
    counters_->records_received.fetch_add(batch.records_size());
    counters_->records_accepted.fetch_add(accepted);
    if (rejected > 0) {
      counters_->records_rejected.fetch_add(rejected);
      service_->log_->Warn("peer {}: dropped {} malformed records", sender_, rejected);
    }
    if (too_far_ahead > 0) {
      counters_->records_too_far_ahead.fetch_add(too_far_ahead);
      service_->log_->Warn("peer {}: dropped {} records whose client time is more than {} s "
                           "ahead of this server's clock",
                           sender_, too_far_ahead, service_->max_future_s_);
    }
    // The cursor is the sender's to decode: kept and echoed as it came.
    service_->resume_book_.Applied(sender_, sender_epoch_, batch.cursor().SerializeAsString());
    v1::FloodResponse ack;
    *ack.mutable_ack()->mutable_cursor() = batch.cursor();
    Send(std::move(ack));
  }

  // A record from a neighbour is refused if its origin broke max_future_s
  // (by its own clock, as its time difference shows: every server agrees,
  // so none keeps bytes the others dropped), or if it is further ahead of
  // this server's clock than max_future_s plus kClockSlackSeconds (a forged
  // time difference; the slack absorbs the herd's clock differences).
  bool TooFarAhead(const RecordView& record, int64_t now) const {
    return OriginSawTooFarAhead(record.skew, service_->max_future_s_) ||
           IsTooFarAhead(now, record.client_time, service_->max_future_s_ + kClockSlackSeconds);
  }

  // Writes `response` now, or after the write in flight (replacing any
  // acknowledgement still waiting: only the newest matters).
  void Send(v1::FloodResponse response) {
    {
      absl::MutexLock lock(&mu_);
      if (finishing_) return;
      if (writing_) {
        pending_ = std::move(response);
        return;
      }
      writing_ = true;
      out_ = std::move(response);
    }
    StartWrite(&out_);  // out_ is left alone until OnWriteDone
  }

  void OnWriteDone(bool ok) override {
    enum class Next { kNothing, kWrite, kFinish } next = Next::kNothing;
    grpc::Status finish;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (ok && pending_ && !finishing_) {
        out_ = *std::move(pending_);
        pending_.reset();
        writing_ = true;
        next = Next::kWrite;
      } else if (finish_status_ && !finished_) {
        finished_ = true;
        finish = *std::move(finish_status_);
        next = Next::kFinish;
      }
    }
    if (next == Next::kWrite) StartWrite(&out_);
    if (next == Next::kFinish) Finish(finish);
  }

  // Finishes once no write is in flight (one Finish, after the writes).
  void FinishWhenIdle(grpc::Status status) {
    {
      absl::MutexLock lock(&mu_);
      finishing_ = true;
      pending_.reset();
      if (finished_) return;
      if (writing_) {
        finish_status_ = std::move(status);
        return;
      }
      finished_ = true;
    }
    Finish(std::move(status));
  }

  void OnDone() override {
    if (counters_ != nullptr) {
      counters_->open_streams.fetch_sub(1);
      counters_->last_closed_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
      service_->log_->Info("peer {}: inbound stream closed", sender_);
    }
    delete this;
  }

  PeerService* const service_;
  grpc::CallbackServerContext* const context_;
  v1::FloodRequest request_;  // the one read in flight
  std::string sender_;        // set by PeerHello
  uint64_t sender_epoch_ = 0;
  InboundCounters* counters_ = nullptr;

  absl::Mutex mu_;
  v1::FloodResponse out_ ABSL_GUARDED_BY(mu_);  // the one write in flight
  std::optional<v1::FloodResponse> pending_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> finish_status_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

PeerService::PeerService(Options options, Store* store, ServerLog* log)
    : self_name_(std::move(options.self_name)),
      epoch_(options.epoch),
      require_certificates_(options.require_certificates),
      clock_(std::move(options.clock)),
      max_future_s_(options.max_future_s),
      on_accepted_(std::move(options.on_accepted)),
      metrics_(options.metrics),
      store_(store),
      log_(log) {
  for (const std::string& neighbour : options.neighbours) {
    counters_[neighbour] = std::make_unique<InboundCounters>();
  }
  resume_book_.Import(options.resume_points);
}

bool PeerService::CallerIs(grpc::CallbackServerContext* context,
                           const std::string& name) const {
  const std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return false;
  for (const grpc::string_ref& dns : auth->FindPropertyValues(GRPC_PEER_DNS_PROPERTY_NAME)) {
    if (absl::EqualsIgnoreCase(absl::string_view(dns.data(), dns.size()), AsAbsl(name))) {
      return true;
    }
  }
  return false;
}

const InboundCounters* PeerService::counters(const std::string& neighbour) const {
  auto it = counters_.find(neighbour);
  return it == counters_.end() ? nullptr : it->second.get();
}

uint64_t PeerService::records_received_total() const {
  uint64_t total = 0;
  for (const auto& [name, counters] : counters_) total += counters->records_received.load();
  return total;
}

grpc::ServerBidiReactor<v1::FloodRequest, v1::FloodResponse>* PeerService::Flood(
    grpc::CallbackServerContext* context) {
  return new FloodReceiver(this, context);
}

}  // namespace herd
