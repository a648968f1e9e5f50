#include "peer/flood_call.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "peer/peer_link.h"
#include "peer/record_codec.h"

namespace herd {
namespace {

// Whether feed position `acked` is at or past `sent` in every shard.
bool Covers(const Store::Cursor& acked, const Store::Cursor& sent) {
  for (size_t shard = 0; shard < acked.seen.size(); ++shard) {
    if (acked.seen[shard] < sent.seen[shard]) return false;
  }
  return true;
}

}  // namespace

FloodCall::FloodCall(PeerLink* link, const LinkContext* context)
    : link_(link), link_context_(context), context_(std::make_unique<grpc::ClientContext>()) {}

FloodCall::~FloodCall() {
  // The context holds a reference to the link's channel: it goes first,
  // while the link (and so the channel) is certainly alive, and a channel
  // is never released last on one of gRPC's threads (its shutdown would
  // then join the thread it runs on).
  context_.reset();
  link_->OnCallDestroyed();  // the last use of the link
}

void FloodCall::Begin(v1::Peer::Stub* stub) {
  self_ = shared_from_this();
  // Wait for the neighbour to come up instead of failing at once: a link to
  // a dead neighbour is one pending call, and it proceeds when it returns.
  context_->set_wait_for_ready(true);
  stub->async()->Flood(context_.get(), this);
  v1::FloodRequest* hello;
  {
    absl::MutexLock lock(&mu_);
    request_.mutable_hello()->set_name(link_context_->self_name);
    request_.mutable_hello()->set_epoch(link_context_->epoch);
    gate_.BeginWrite();
    hello = &request_;
  }
  StartWrite(hello);
  StartRead(&response_);
  // Pump() writes from outside reactions: the hold keeps OnDone away until
  // the stream is ending and no write is in flight.
  AddHold();
  StartCall();
}

bool FloodCall::HoldBackUntilLocked(Clock::time_point due, Clock::time_point now) {
  if (now >= due) return false;
  if (!wake_pending_ || due < wake_due_) {
    wake_pending_ = true;
    wake_due_ = due;
    link_->WakeAt(due);  // the link outlives this call
  }
  return true;
}

void FloodCall::Pump() { WriteNextBatch(); }

bool FloodCall::WriteNextBatch() {
  v1::FloodRequest* request;
  {
    absl::MutexLock lock(&mu_);
    // A busy link (its last batch carried more than one record) waits for
    // the acknowledgement of the last batch (which asked for it) before it
    // sends the next: records accepted meanwhile travel together. A quiet
    // one does not wait.
    const bool busy = last_batch_records_ > 1;
    const size_t max_unacked = busy ? 1 : kMaxUnackedBatches;
    if (!welcomed_ || gate_.writing() || gate_.ending() || unacked_.size() >= max_unacked) {
      return false;
    }
    const Clock::time_point now = Clock::now();
    if (wake_pending_ && now >= wake_due_) wake_pending_ = false;
    // A busy link: let the window fill.
    if (busy && HoldBackUntilLocked(last_batch_at_ + kCoalescingWindow, now)) {
      return false;
    }
    const Store::Cursor before = cursor_;
    const size_t records = ReadRecordsLocked();
    if (cursor_.seen != before.seen && !cursor_unsent_) {
      cursor_unsent_ = true;
      cursor_unsent_since_ = now;
    }
    const size_t fences = ReadFencesLocked();
    // Drained: the next Pump() comes from the store, or an empty batch
    // goes later (see EmptyBatchDueLocked).
    const bool empty = records == 0 && fences == 0;
    if (empty && !EmptyBatchDueLocked(now)) return false;
    // An empty batch always asks (asking is what it is for, when it is not
    // carrying a cursor), and so does one of several records: the link is
    // busy, and its next batch waits for this one's acknowledgement.
    const bool ask = empty || records > 1 || not_asked_ + 1 >= kAckEvery;
    request_.clear_hello();
    ToProto(cursor_, request_.mutable_cursor());
    request_.set_ack_later(!ask);
    records_in_flight_ = records;
    fences_in_flight_ = fences;
    gate_.BeginWrite();
    unacked_.push_back(cursor_);
    not_asked_ = ask ? 0 : not_asked_ + 1;
    cursor_unsent_ = false;
    last_batch_at_ = now;
    last_batch_records_ = records;
    request = &request_;
  }
  StartWrite(request);
  return true;
}

bool FloodCall::EmptyBatchDueLocked(Clock::time_point now) {
  // A cursor that moved over the neighbour's own records alone is still
  // sent, so that its resume point and our backlog figure keep up, but
  // late: every batch the neighbour sends us would otherwise be answered by
  // one, and its acknowledgement. Batches sent without asking for an
  // acknowledgement are asked about once the link is quiet.
  std::optional<Clock::time_point> due;
  if (cursor_unsent_) due = cursor_unsent_since_ + kCursorOnlyDelay;
  if (not_asked_ > 0) {
    const Clock::time_point ask_at = last_batch_at_ + kAckDelay;
    due = due ? std::min(*due, ask_at) : ask_at;
  }
  return due && !HoldBackUntilLocked(*due, now);
}

size_t FloodCall::ReadRecordsLocked() {
  // The records' messages (and their strings) are reused batch to batch,
  // and filled straight from the store's packed records.
  request_.mutable_records()->Clear();
  const Store& store = *link_context_->store;
  PackedRecord::Scratch scratch;
  const auto encode = [&](const PackedRecord& record) {
    ToProto(record.View(&scratch), request_.add_records());
  };
  size_t records;
  do {
    records = store.VisitAfter(&cursor_, link_context_->max_batch_records, skip_, encode);
  } while (records == 0 && store.HasAfter(cursor_));
  return records;
}

size_t FloodCall::ReadFencesLocked() {
  request_.mutable_fences()->Clear();
  const FenceBook* book = link_context_->fences;
  if (book == nullptr || fence_cursor_ >= book->last_seq()) return 0;
  // One at a time, to stop at the byte bound without skipping any.
  size_t bytes = 0;
  while (static_cast<size_t>(request_.fences_size()) < link_context_->max_batch_fences &&
         bytes < link_context_->max_batch_fence_bytes) {
    std::vector<v1::Fence> next = book->ReadAfter(&fence_cursor_, 1);
    if (next.empty()) break;
    bytes += next.front().ByteSizeLong();
    request_.add_fences()->Swap(&next.front());
  }
  return static_cast<size_t>(request_.fences_size());
}

void FloodCall::OnWriteDone(bool ok) {
  size_t sent, fences;
  std::optional<ReleaseHold> release;
  {
    absl::MutexLock lock(&mu_);
    release = gate_.WriteDone();
    if (!ok && !release) release = gate_.End({});
    sent = records_in_flight_;
    records_in_flight_ = 0;
    fences = fences_in_flight_;
    fences_in_flight_ = 0;
  }
  if (ok && (sent > 0 || fences > 0)) link_->OnSent(sent, fences);
  if (release) {
    RemoveHold();
  } else if (ok) {
    Pump();
  }
}

void FloodCall::OnReadDone(bool ok) {
  if (!ok) {
    std::optional<ReleaseHold> release;
    {
      absl::MutexLock lock(&mu_);
      release = gate_.End({});
    }
    if (release) RemoveHold();
    return;
  }
  if (response_.has_welcome()) {
    HandleWelcome(response_.welcome());
  } else if (response_.has_ack()) {
    HandleAck(response_.ack());
  }
  StartRead(&response_);
}

void FloodCall::HandleAck(const v1::BatchAck& ack) {
  std::optional<Store::Cursor> acked = FromProto(ack.cursor());
  if (!acked || !link_context_->store->Reached(*acked)) return;
  link_->OnAcked(*acked);
  {
    absl::MutexLock lock(&mu_);
    // It covers every batch up to its own (cursors only move forward).
    const size_t before = unacked_.size();
    while (!unacked_.empty() && Covers(*acked, unacked_.front())) unacked_.pop_front();
    if (unacked_.size() == before) return;
    // Nothing left to ask about (a receiver that acknowledges every batch,
    // as servers before ack_later do, gets here without being asked).
    if (unacked_.empty()) not_asked_ = 0;
  }
  Pump();
}

void FloodCall::HandleWelcome(const v1::PeerWelcome& welcome) {
  if (welcome.name() != link_->neighbour()) {
    link_context_->log->Error("peer {}: the server at its address calls itself \"{}\"",
                              link_->neighbour(), welcome.name());
    Cancel();
    return;
  }
  std::optional<Store::Cursor> resume;
  if (welcome.resume()) {
    resume = FromProto(welcome.cursor());
    if (!resume || !link_context_->store->Reached(*resume)) {
      // Not a point of our feed (another shard layout, or beyond what this
      // store has numbered): resuming there would skip records forever.
      link_context_->log->Warn(
          "peer {}: its resume point is not one this server's feed has "
          "reached; sending the full state instead",
          link_->neighbour());
      resume.reset();
    }
  }
  {
    absl::MutexLock lock(&mu_);
    if (welcomed_) return;  // a second welcome is ignored
    cursor_ = resume.value_or(Store::Cursor{});
    skip_ = Store::Source{link_->neighbour(), welcome.epoch()};
    welcomed_ = true;
  }
  link_->OnConnected(resume);
  Pump();
}

void FloodCall::OnDone(const grpc::Status& status) {
  bool was_connected;
  {
    absl::MutexLock lock(&mu_);
    was_connected = welcomed_;
  }
  link_->OnCallDone(this, status, was_connected);
  auto last_reference = std::move(self_);  // may delete this on return
}

}  // namespace herd
