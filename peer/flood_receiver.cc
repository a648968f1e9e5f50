#include "peer/flood_receiver.h"

#include <chrono>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "common/strings.h"
#include "peer/record_codec.h"

namespace herd {
namespace {

// How far the herd's clocks may disagree before a neighbour's record looks
// forged (see FloodReceiver::TooFarAhead).
constexpr int64_t kClockSlackSeconds = 60;

}  // namespace

FloodReceiver* FloodReceiver::Start(PeerService* service, grpc::CallbackServerContext* context) {
  std::shared_ptr<FloodReceiver> receiver(new FloodReceiver(service, context));
  receiver->self_ = receiver;
  receiver->StartRead(&receiver->request_);
  return receiver.get();
}

FloodReceiver::FloodReceiver(PeerService* service, grpc::CallbackServerContext* context)
    : service_(service), context_(context) {}

void FloodReceiver::OnReadDone(bool ok) {
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

bool FloodReceiver::Greet() {
  if (!request_.has_hello()) {
    FinishWhenIdle(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must be PeerHello"));
    return false;
  }
  const v1::PeerHello& hello = request_.hello();
  // The name is the caller's until checked: shown escaped and cut short.
  const std::string name = absl::CHexEscape(AsAbsl(std::string_view(hello.name()).substr(0, 64)));
  // The certificate first, so that a caller without one learns nothing,
  // not even which names are neighbours.
  if (service_->require_certificates_ && !service_->CallerIs(context_, hello.name())) {
    service_->log_->Warn(
        "peer: refused a stream claiming to be \"{}\": its certificate "
        "does not name it (peer {})",
        name, context_->peer());
    FinishWhenIdle(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                "a Flood stream needs a client certificate from the herd's "
                                "CA that names \"" +
                                    name + "\""));
    return false;
  }
  auto it = service_->counters_.find(hello.name());
  if (it == service_->counters_.end()) {
    service_->log_->Warn("peer: refused a stream from \"{}\": not a neighbour of {}", name,
                         service_->self_name_);
    FinishWhenIdle(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                "\"" + name + "\" is not a neighbour of " + service_->self_name_));
    return false;
  }
  sender_ = hello.name();
  sender_epoch_ = hello.epoch();
  counters_ = it->second.get();
  counters_->open_streams.fetch_add(1);
  std::optional<std::string> resume = service_->resume_book_.ResumePoint(sender_, sender_epoch_);
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

void FloodReceiver::ObserveLag(ServerMetrics::Neighbour* neighbour, const RecordView& record,
                               int64_t now_ns) {
  double client_time = 0, skew = 0;
  if (!absl::SimpleAtod(AsAbsl(record.client_time), &client_time) ||
      !absl::SimpleAtod(AsAbsl(record.skew), &skew)) {
    return;
  }
  neighbour->propagation_lag.ObserveSeconds(static_cast<double>(now_ns) / 1e9 -
                                            (client_time + skew));
}

void FloodReceiver::ApplyFences(const v1::FloodRequest& batch, int64_t now) {
  if (batch.fences().empty()) return;
  // A version stamped far ahead would win over every later change.
  const int64_t latest_ns = now + (service_->max_future_s_ + kClockSlackSeconds) * 1000000000;
  uint64_t accepted = 0, invalid = 0, refused = 0, too_far_ahead = 0;
  for (const v1::Fence& fence : batch.fences()) {
    if (fence.version().time_ns() > latest_ns) {
      ++too_far_ahead;
      continue;
    }
    switch (service_->fences_ != nullptr ? service_->fences_->Apply(fence)
                                         : FenceBook::Outcome::kRefused) {
      case FenceBook::Outcome::kAccepted:
        ++accepted;
        break;
      case FenceBook::Outcome::kStale:
        break;
      case FenceBook::Outcome::kInvalid:
        ++invalid;
        break;
      case FenceBook::Outcome::kRefused:
        ++refused;
        break;
    }
  }
  counters_->fences_received.fetch_add(batch.fences_size());
  counters_->fences_accepted.fetch_add(accepted);
  counters_->fences_dropped.fetch_add(invalid + refused + too_far_ahead);
  if (invalid > 0) service_->log_->Warn("peer {}: dropped {} invalid fences", sender_, invalid);
  if (refused > 0) {
    service_->log_->Warn("peer {}: dropped {} fences: this server {}", sender_, refused,
                         service_->fences_ != nullptr ? "holds fences.max_fences already"
                                                      : "keeps no fences");
  }
  if (too_far_ahead > 0) {
    service_->log_->Warn(
        "peer {}: dropped {} fences whose version is more than {} s ahead of this server's "
        "clock",
        sender_, too_far_ahead, service_->max_future_s_ + kClockSlackSeconds);
  }
}

void FloodReceiver::ApplyBatch(const v1::FloodRequest& batch) {
  const Store::Source source{sender_, sender_epoch_};
  const int64_t now = service_->clock_();
  ApplyFences(batch, now);
  uint64_t accepted = 0, rejected = 0, too_far_ahead = 0;
  ServerMetrics::Neighbour* neighbour =
      service_->metrics_ ? service_->metrics_->FindNeighbour(sender_) : nullptr;
  // The links hear about the batch once, and send on what was accepted of
  // it together.
  std::optional<Store::NotifyOnce> notify_once(service_->store_);
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
  notify_once.reset();
  counters_->records_received.fetch_add(batch.records_size());
  counters_->records_accepted.fetch_add(accepted);
  if (rejected > 0) {
    counters_->records_rejected.fetch_add(rejected);
    service_->log_->Warn("peer {}: dropped {} malformed records", sender_, rejected);
  }
  if (too_far_ahead > 0) {
    counters_->records_too_far_ahead.fetch_add(too_far_ahead);
    service_->log_->Warn(
        "peer {}: dropped {} records whose client time is more than {} s "
        "ahead of this server's clock",
        sender_, too_far_ahead, service_->max_future_s_);
  }
  // The cursor is the sender's to decode: kept and echoed as it came.
  service_->resume_book_.Applied(sender_, sender_epoch_, batch.cursor().SerializeAsString());
  if (batch.ack_later()) return;  // a later batch's acknowledgement covers it
  v1::FloodResponse ack;
  *ack.mutable_ack()->mutable_cursor() = batch.cursor();
  Send(std::move(ack));
}

// A record from a neighbour is refused if its origin broke max_future_s
// (by its own clock, as its time difference shows: every server agrees,
// so none keeps bytes the others dropped), or if it is further ahead of
// this server's clock than max_future_s plus kClockSlackSeconds (a forged
// time difference; the slack absorbs the herd's clock differences).
bool FloodReceiver::TooFarAhead(const RecordView& record, int64_t now) const {
  return OriginSawTooFarAhead(record.skew, service_->max_future_s_) ||
         IsTooFarAhead(now, record.client_time, service_->max_future_s_ + kClockSlackSeconds);
}

void FloodReceiver::Send(v1::FloodResponse response) {
  {
    absl::MutexLock lock(&mu_);
    if (gate_.ending()) return;
    if (!gate_.BeginWrite()) {
      pending_ = std::move(response);
      return;
    }
    out_ = std::move(response);
  }
  StartWrite(&out_);  // out_ is left alone until OnWriteDone
}

void FloodReceiver::OnWriteDone(bool ok) {
  std::optional<grpc::Status> finish;
  bool write_pending = false;
  {
    absl::MutexLock lock(&mu_);
    finish = gate_.WriteDone();
    if (!finish && ok && pending_ && gate_.BeginWrite()) {
      out_ = *std::move(pending_);
      pending_.reset();
      write_pending = true;
    }
  }
  if (write_pending) StartWrite(&out_);
  if (finish) Finish(*finish);
}

void FloodReceiver::FinishWhenIdle(grpc::Status status) {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    pending_.reset();
    finish = gate_.End(std::move(status));
  }
  if (finish) Finish(*finish);
}

void FloodReceiver::OnDone() {
  if (counters_ != nullptr) {
    counters_->open_streams.fetch_sub(1);
    counters_->last_closed_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
    service_->log_->Info("peer {}: inbound stream closed", sender_);
  }
  auto last_reference = std::move(self_);  // may delete this on return
}

}  // namespace herd
