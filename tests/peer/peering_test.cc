// Peering between in-process servers over real gRPC on loopback: what a link
// sends (coalesced, bounded whatever the neighbour's speed) and catch-up
// (a dropped stream resumes with the delta; a restarted neighbour gets the
// full state); fences flood herd-wide the same way (newer wins per id, a
// returning neighbour gets the whole set, a neighbour's bad fence stops).

#include "peer/peering.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/asio.h"
#include "common/server_log.h"
#include "fences/fence_book.h"
#include "herd/v1/peer.grpc.pb.h"
#include "peer/flood_call.h"
#include "tests/testing/ports.h"
#include "tests/testing/wait.h"

namespace herd {
namespace {

using ::herd::testing::WaitFor;

Record At(const std::string& client, const std::string& time, const std::string& origin = "A") {
  return Record{client, origin, "+0.000000001", "+1.0+2.0", time};
}

// A circle fence as a client would set it (no version).
v1::Fence CircleFence(const std::string& id, double radius_m) {
  v1::Fence fence;
  fence.set_id(id);
  fence.mutable_circle()->set_latitude(34.07);
  fence.mutable_circle()->set_longitude(-118.44);
  fence.mutable_circle()->set_radius_m(radius_m);
  return fence;
}

// One herd member in this process: store, fence book, peering, gRPC server.
// The fence book's clock is the node's own (fence_now), so tests decide
// which of two versions is newer.
class Node {
 public:
  // Without `with_fences`, the node's Peering has no fence book.
  Node(std::string name, uint16_t port, std::vector<Peering::Neighbour> neighbours, uint64_t epoch,
       std::chrono::milliseconds backoff = std::chrono::milliseconds(100), bool with_fences = true)
      : name_(std::move(name)), port_(port), store_(epoch), fences_([&] {
          FenceBook::Options options;
          options.server_name = name_;
          options.epoch = epoch;
          options.now_ns = [this] { return fence_now_.load(); };
          return options;
        }()) {
    Peering::Options options;
    options.fences = with_fences ? &fences_ : nullptr;
    options.self_name = name_;
    options.neighbours = std::move(neighbours);
    options.max_batch_records = 64;
    options.min_backoff = backoff;
    options.max_backoff = std::max(backoff, options.max_backoff);
    peering_ = std::make_unique<Peering>(options, &store_, log_.get(), io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Node() {
    Stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  void Start() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port_),
                             grpc::InsecureServerCredentials());
    Peering::ConfigureServer(&builder);
    builder.RegisterService(peering_->service());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    peering_->Start();
  }

  void Stop() {
    if (server_ == nullptr) return;
    peering_->Shutdown();
    server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
  }

  Store& store() { return store_; }
  FenceBook& fences() { return fences_; }
  // What the node's fence book takes for now (ns since the epoch).
  void set_fence_now(int64_t ns) { fence_now_.store(ns); }
  Peering& peering() { return *peering_; }
  v1::LinkStatus Link(size_t i = 0) const { return peering_->Status().at(i); }

 private:
  std::string name_;
  uint16_t port_;
  Store store_;
  std::atomic<int64_t> fence_now_{1'000'000'000};
  FenceBook fences_;
  std::unique_ptr<ServerLog> log_ = ServerLog::Discard();
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<Peering> peering_;
  std::unique_ptr<grpc::Server> server_;
  std::thread thread_;
};

class PeeringTest : public ::testing::Test {
 protected:
  std::unique_ptr<Node> MakeA(uint64_t epoch = 1,
                              std::chrono::milliseconds backoff = std::chrono::milliseconds(100)) {
    return std::make_unique<Node>(
        "A", port_a_, std::vector<Peering::Neighbour>{{"B", Target(port_b_)}}, epoch, backoff);
  }
  std::unique_ptr<Node> MakeB(uint64_t epoch = 2) {
    return std::make_unique<Node>("B", port_b_,
                                  std::vector<Peering::Neighbour>{{"A", Target(port_a_)}}, epoch);
  }
  static std::string Target(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }
  // A line of three: A - B - C.
  std::unique_ptr<Node> MakeLineB(uint64_t epoch = 2) {
    return std::make_unique<Node>(
        "B", port_b_,
        std::vector<Peering::Neighbour>{{"A", Target(port_a_)}, {"C", Target(port_c_)}}, epoch);
  }
  std::unique_ptr<Node> MakeLineC(uint64_t epoch = 3) {
    return std::make_unique<Node>("C", port_c_,
                                  std::vector<Peering::Neighbour>{{"B", Target(port_b_)}}, epoch);
  }

  // Each node needs the other's port before either starts (and the same
  // port again when restarted): held for the test, and bound by the nodes'
  // gRPC servers (SO_REUSEADDR) when they start.
  testing::ReservedPort reserved_a_;
  testing::ReservedPort reserved_b_;
  testing::ReservedPort reserved_c_;
  uint16_t port_a_ = reserved_a_.port();
  uint16_t port_b_ = reserved_b_.port();
  uint16_t port_c_ = reserved_c_.port();
};

TEST_F(PeeringTest, AcceptedRecordsReachTheNeighbourAndStaleOnesStop) {
  auto a = MakeA();
  auto b = MakeB();
  a->Start();
  b->Start();
  a->store().Apply(At("kiwi", "2"));
  ASSERT_TRUE(WaitFor([&] { return b->store().Get("kiwi").has_value(); }));
  EXPECT_EQ(*b->store().Get("kiwi"), At("kiwi", "2"));
  // Not echoed back: A receives nothing from B.
  a->store().Apply(At("kiwi", "1"));  // stale at A: not sent
  b->store().Apply(At("other", "1", "B"));
  ASSERT_TRUE(WaitFor([&] { return a->store().Get("other").has_value(); }));
  // The counters move just after the store (the batch is applied first).
  EXPECT_TRUE(WaitFor([&] { return a->Link().records_received() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return b->Link().records_received() == 1; }));
  EXPECT_EQ(a->Link().records_received(), 1u);
  EXPECT_EQ(b->Link().records_received(), 1u);
  EXPECT_EQ(b->store().Get("kiwi")->client_time, "2");
}

TEST_F(PeeringTest, ADownNeighbourGetsOnlyTheNewestRecordPerClient) {
  auto a = MakeA();
  a->Start();
  // B is down: A's link waits, holding nothing per record.
  for (int t = 1; t <= 200; ++t) {
    for (int c = 0; c < 10; ++c) a->store().Apply(At("c" + std::to_string(c), std::to_string(t)));
  }
  EXPECT_EQ(a->Link().state(), v1::LinkStatus::CONNECTING);
  EXPECT_EQ(a->Link().backlog(), 10u);  // one per client, however many updates
  auto b = MakeB();
  b->Start();
  ASSERT_TRUE(WaitFor([&] { return b->store().size() == 10; }));
  ASSERT_TRUE(WaitFor([&] { return a->Link().backlog() == 0; }));
  EXPECT_EQ(b->Link().records_received(), 10u);
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(b->store().Get("c" + std::to_string(c))->client_time, "200");
  }
}

TEST_F(PeeringTest, ADroppedStreamResumesWithTheDeltaOnly) {
  auto a = MakeA();
  auto b = MakeB();
  a->Start();
  b->Start();
  for (int c = 0; c < 100; ++c) a->store().Apply(At("c" + std::to_string(c), "1"));
  ASSERT_TRUE(WaitFor([&] { return b->store().size() == 100; }));
  ASSERT_TRUE(WaitFor([&] { return a->Link().backlog() == 0; }));
  a->peering().DropStreamsForTesting();
  for (int c = 100; c < 105; ++c) a->store().Apply(At("c" + std::to_string(c), "1"));
  ASSERT_TRUE(WaitFor([&] { return b->store().size() == 105; }));
  ASSERT_TRUE(WaitFor([&] { return a->Link().reconnects() >= 1; }));
  ASSERT_TRUE(WaitFor([&] { return a->Link().backlog() == 0; }));  // counted before acked
  EXPECT_EQ(b->Link().records_received(), 105u);                   // not 100 + 105
}

TEST_F(PeeringTest, SecondsSinceContactIsZeroWhileConnectedAndCountsAfter) {
  auto a = MakeA();
  a->Start();
  EXPECT_EQ(a->Link().seconds_since_contact(), -1);  // never in contact
  auto b = MakeB();
  b->Start();
  ASSERT_TRUE(WaitFor([&] { return a->Link().state() == v1::LinkStatus::CONNECTED; }));
  EXPECT_EQ(a->Link().seconds_since_contact(), 0);
  b.reset();  // both directions close
  ASSERT_TRUE(WaitFor([&] { return a->Link().seconds_since_contact() > 0; }));
  const double first = a->Link().seconds_since_contact();
  EXPECT_TRUE(WaitFor([&] { return a->Link().seconds_since_contact() > first; }));
}

TEST_F(PeeringTest, ARestartedNeighbourGetsTheFullState) {
  auto a = MakeA();
  auto b = MakeB();
  a->Start();
  b->Start();
  for (int c = 0; c < 100; ++c) a->store().Apply(At("c" + std::to_string(c), "1"));
  b->store().Apply(At("from-b", "1", "B"));
  ASSERT_TRUE(WaitFor([&] { return b->store().size() == 101 && a->store().size() == 101; }));
  b.reset();  // B dies with its memory
  auto b2 = MakeB(/*epoch=*/3);
  b2->Start();
  // The full state, including the record that came from B's old life.
  ASSERT_TRUE(WaitFor([&] { return b2->store().size() == 101; }));
  EXPECT_TRUE(b2->store().Get("from-b").has_value());
}

// Accepts TCP connections on 127.0.0.1:port and closes each at once (a
// port where nothing speaks gRPC), counting them.
class HangUpListener {
 public:
  explicit HangUpListener(uint16_t port) : fd_(testing::ListenLoopback(port)) {
    thread_ = std::thread([this] {
      for (int client; (client = accept(fd_, nullptr, nullptr)) >= 0;) {
        close(client);
        ++accepted_;
      }
    });
  }
  ~HangUpListener() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  int accepted() const { return accepted_.load(); }

 private:
  int fd_;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

TEST_F(PeeringTest, AReturningNeighbourIsRedialledWhenItsStreamArrives) {
  // A waits a minute between attempts to reach B, far beyond the test's
  // deadline: only B's stream arriving at A can make A dial again in time.
  auto a = MakeA(1, std::chrono::minutes(1));
  {
    HangUpListener not_yet_b(port_b_);
    a->Start();
    ASSERT_TRUE(WaitFor([&] { return not_yet_b.accepted() >= 1; }));  // A tried, and failed
  }
  auto b = MakeB();
  b->Start();
  ASSERT_TRUE(WaitFor([&] { return b->Link().state() == v1::LinkStatus::CONNECTED; }));
  EXPECT_TRUE(WaitFor([&] { return a->Link().state() == v1::LinkStatus::CONNECTED; }));
  a->store().Apply(At("after-redial", "1"));
  EXPECT_TRUE(WaitFor([&] { return b->store().Get("after-redial").has_value(); }));
}

TEST_F(PeeringTest, AStalledNeighbourCostsBoundedMemoryAndDoesNotSlowTheStore) {
  auto a = MakeA();
  a->Start();
  // A "neighbour" that accepts the stream, welcomes it, then never reads.
  class Stalled final : public v1::Peer::CallbackService {
    grpc::ServerBidiReactor<v1::FloodRequest, v1::FloodResponse>* Flood(
        grpc::CallbackServerContext*) override {
      class Reactor : public grpc::ServerBidiReactor<v1::FloodRequest, v1::FloodResponse> {
       public:
        Reactor() { StartRead(&request_); }
        void OnReadDone(bool ok) override {
          if (!ok) return FinishOnce(grpc::Status::OK);
          welcome_.mutable_welcome()->set_name("B");
          welcome_.mutable_welcome()->set_epoch(9);
          StartWrite(&welcome_);  // and no more reads
        }
        void OnWriteDone(bool) override {}
        void OnCancel() override { FinishOnce(grpc::Status::CANCELLED); }
        void FinishOnce(grpc::Status status) {
          if (!finished_.exchange(true)) Finish(status);
        }
        std::atomic<bool> finished_ = false;
        void OnDone() override { delete this; }
        v1::FloodRequest request_;
        v1::FloodResponse welcome_;
      };
      return new Reactor;
    }
  } stalled;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(Target(port_b_), grpc::InsecureServerCredentials());
  builder.RegisterService(&stalled);
  auto server = builder.BuildAndStart();
  ASSERT_TRUE(WaitFor([&] { return a->Link().state() == v1::LinkStatus::CONNECTED; }));
  constexpr int kRecords = 200'000;
  const std::string padding(200, 'x');
  for (int c = 0; c < kRecords; ++c) {
    a->store().Apply(At("client-" + std::to_string(c) + padding, "1"));
  }
  // The link sent what the transport's flow-control window took and is
  // waiting on one write: far less than the 40+ MB the store holds.
  const uint64_t sent_after_load = a->Link().records_sent();
  EXPECT_LT(sent_after_load, static_cast<uint64_t>(kRecords) / 4);
  EXPECT_EQ(a->Link().backlog(), static_cast<uint64_t>(kRecords));  // nothing acked
  server->Shutdown(std::chrono::system_clock::now());
}

// --- Fences ---------------------------------------------------------------

TEST_F(PeeringTest, AFenceSetOnAReachesCThroughBAndSoDoesItsDeletion) {
  auto a = MakeA();
  auto b = MakeLineB();
  auto c = MakeLineC();
  a->Start();
  b->Start();
  c->Start();
  absl::StatusOr<v1::Fence> set = a->fences().Set(CircleFence("campus", 500));
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_TRUE(WaitFor([&] { return c->fences().Get("campus").has_value(); }));
  EXPECT_EQ(c->fences().Get("campus")->SerializeAsString(), set->SerializeAsString());
  EXPECT_EQ(c->fences().Get("campus")->version().origin(), "A");
  // B accepted it from A (a change of its own feed) and flooded it on to C.
  EXPECT_TRUE(WaitFor([&] { return b->Link(0).fences_accepted() == 1; }));  // from A
  EXPECT_TRUE(WaitFor([&] { return c->Link(0).fences_accepted() == 1; }));  // from B
  EXPECT_TRUE(WaitFor([&] { return a->Link().fences_sent() >= 1u; }));      // counted once written

  ASSERT_TRUE(a->fences().Delete("campus").ok());
  ASSERT_TRUE(WaitFor([&] { return !c->fences().Get("campus").has_value(); }));
  EXPECT_FALSE(b->fences().Get("campus").has_value());
  EXPECT_EQ(c->fences().size(), 0u);
  // The deletion stays a version (so it floods and outranks the set).
  uint64_t cursor = 0;
  const std::vector<v1::Fence> feed = c->fences().ReadAfter(&cursor, 10);
  ASSERT_EQ(feed.size(), 1u);
  EXPECT_TRUE(feed[0].version().deleted());
  // Records still flow beside fences.
  a->store().Apply(At("kiwi", "2"));
  EXPECT_TRUE(WaitFor([&] { return c->store().Get("kiwi").has_value(); }));
}

TEST_F(PeeringTest, WhenTwoServersSetTheSameFenceTheNewerVersionWinsEverywhere) {
  auto a = MakeA();
  auto b = MakeB();
  a->Start();
  // Set on both while they cannot talk: B's version is the older one.
  a->set_fence_now(2'000'000'000);
  b->set_fence_now(1'000'000'000);
  ASSERT_TRUE(a->fences().Set(CircleFence("gate", 100)).ok());
  ASSERT_TRUE(b->fences().Set(CircleFence("gate", 200)).ok());
  b->Start();
  ASSERT_TRUE(WaitFor([&] { return b->fences().Get("gate")->circle().radius_m() == 100; }));
  // A heard B's older version and kept its own.
  ASSERT_TRUE(WaitFor([&] { return a->Link().fences_received() >= 1; }));
  EXPECT_EQ(a->fences().Get("gate")->circle().radius_m(), 100);
  EXPECT_EQ(a->Link().fences_accepted(), 0u);
  EXPECT_EQ(a->Link().fences_dropped(), 0u);  // stale is not dropped: just not newer
  EXPECT_TRUE(WaitFor([&] { return b->Link().fences_accepted() == 1; }));

  // And a later change on B, by B's clock now ahead, wins at A.
  b->set_fence_now(3'000'000'000);
  ASSERT_TRUE(b->fences().Set(CircleFence("gate", 300)).ok());
  EXPECT_TRUE(WaitFor([&] { return a->fences().Get("gate")->circle().radius_m() == 300; }));
  EXPECT_EQ(a->fences().Get("gate")->version().origin(), "B");
}

TEST_F(PeeringTest, ANeighbourThatWasDownGetsTheFencesItMissedOnReconnect) {
  auto a = MakeA();
  auto b = MakeB();
  a->Start();
  b->Start();
  ASSERT_TRUE(a->fences().Set(CircleFence("kept", 10)).ok());
  ASSERT_TRUE(a->fences().Set(CircleFence("doomed", 20)).ok());
  ASSERT_TRUE(WaitFor([&] { return b->fences().size() == 2; }));
  std::vector<v1::Fence> on_disk;  // what B would have kept on disk
  uint64_t cursor = 0;
  on_disk = b->fences().ReadAfter(&cursor, 10);
  b.reset();  // B goes down
  ASSERT_TRUE(a->fences().Delete("doomed").ok());
  ASSERT_TRUE(a->fences().Set(CircleFence("new", 30)).ok());
  auto b2 = MakeB(/*epoch=*/3);
  for (const v1::Fence& fence : on_disk) {
    ASSERT_EQ(b2->fences().Apply(fence), FenceBook::Outcome::kAccepted);
  }
  b2->Start();
  ASSERT_TRUE(WaitFor([&] {
    return b2->fences().Get("new").has_value() && !b2->fences().Get("doomed").has_value();
  }));
  EXPECT_TRUE(b2->fences().Get("kept").has_value());
  EXPECT_EQ(b2->fences().size(), 2u);

  // A dropped stream sends the whole set again (fences have no resume
  // point), and it changes nothing.
  const uint64_t sent = a->Link().fences_sent();
  a->peering().DropStreamsForTesting();
  ASSERT_TRUE(WaitFor([&] { return a->Link().fences_sent() >= sent + 3; }));
  EXPECT_TRUE(WaitFor([&] { return b2->Link().fences_received() >= 6; }));
  EXPECT_EQ(b2->fences().size(), 2u);
}

TEST_F(PeeringTest, ANeighboursInvalidFencesAreDroppedAndCounted) {
  auto b = MakeB();
  b->Start();
  // Speak for A by hand: hello, then one batch of fences.
  auto stub =
      v1::Peer::NewStub(grpc::CreateChannel(Target(port_b_), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub->Flood(&context);
  v1::FloodRequest hello;
  hello.mutable_hello()->set_name("A");
  hello.mutable_hello()->set_epoch(7);
  ASSERT_TRUE(stream->Write(hello));
  v1::FloodResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_welcome());

  auto versioned = [](v1::Fence fence, int64_t time_ns) {
    fence.mutable_version()->set_time_ns(time_ns);
    fence.mutable_version()->set_origin("A");
    return fence;
  };
  v1::FloodRequest batch;
  *batch.add_fences() = versioned(CircleFence("good", 5), 1'000'000'000);
  *batch.add_fences() = versioned(CircleFence("bad id!", 5), 1'000'000'000);  // id bytes
  v1::Fence no_shape = versioned(CircleFence("shapeless", 5), 1'000'000'000);
  no_shape.clear_circle();
  *batch.add_fences() = no_shape;
  v1::Fence no_origin = CircleFence("anonymous", 5);
  no_origin.mutable_version()->set_time_ns(1'000'000'000);
  *batch.add_fences() = no_origin;
  // A version from the far future would win over every later change.
  const int64_t next_year =
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          (std::chrono::system_clock::now() + std::chrono::hours(24 * 365)).time_since_epoch())
          .count();
  *batch.add_fences() = versioned(CircleFence("future", 5), next_year);
  batch.mutable_cursor()->add_seen(1);
  ASSERT_TRUE(stream->Write(batch));
  ASSERT_TRUE(stream->Read(&response));  // applied, then acknowledged
  ASSERT_TRUE(response.has_ack());
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());

  EXPECT_EQ(b->Link().fences_received(), 5u);
  EXPECT_EQ(b->Link().fences_accepted(), 1u);
  EXPECT_EQ(b->Link().fences_dropped(), 4u);
  EXPECT_TRUE(b->fences().Get("good").has_value());
  EXPECT_EQ(b->fences().size(), 1u);
  EXPECT_FALSE(b->fences().Get("future").has_value());
}

TEST_F(PeeringTest, AServerWithoutFencesDropsItsNeighboursAndStillTakesTheirRecords) {
  auto a = MakeA();
  Node b("B", port_b_, {{"A", Target(port_a_)}}, 2, std::chrono::milliseconds(100),
         /*with_fences=*/false);
  a->Start();
  b.Start();
  ASSERT_TRUE(a->fences().Set(CircleFence("campus", 500)).ok());
  a->store().Apply(At("kiwi", "2"));
  ASSERT_TRUE(WaitFor([&] { return b.store().Get("kiwi").has_value(); }));
  EXPECT_TRUE(WaitFor([&] { return b.Link().fences_dropped() == 1; }));
  EXPECT_EQ(b.Link().fences_received(), 1u);
  EXPECT_EQ(b.fences().size(), 0u);
  EXPECT_EQ(b.Link().fences_sent(), 0u);  // and it sends none
}

// A neighbour "B" that welcomes a stream, acknowledges each batch that asks
// (as a FloodReceiver does), and counts what it got: records, fences (and
// the most one batch carried), batches and the batches that asked.
class RecordingNeighbour final : public v1::Peer::CallbackService {
 public:
  int max_fences_per_batch() const { return max_fences_.load(); }
  int fences() const { return fences_.load(); }
  int records() const { return records_.load(); }
  int batches() const { return batches_.load(); }
  int asking_batches() const { return asking_batches_.load(); }
  // Batches of more than one record, and those of them that asked.
  int full_batches() const { return full_batches_.load(); }
  int full_asking_batches() const { return full_asking_batches_.load(); }

 private:
  class Reactor : public grpc::ServerBidiReactor<v1::FloodRequest, v1::FloodResponse> {
   public:
    explicit Reactor(RecordingNeighbour* owner) : owner_(owner) { StartRead(&request_); }
    void OnReadDone(bool ok) override {
      v1::FloodResponse next;
      if (!ok) {
        bool finish;
        {
          absl::MutexLock lock(&mu_);
          finish_after_write_ = writing_;
          finish = !writing_;
        }
        if (finish) Finish(grpc::Status::OK);
        return;
      }
      if (request_.has_hello()) {
        next.mutable_welcome()->set_name("B");
        next.mutable_welcome()->set_epoch(9);
      } else {
        const int fences = request_.fences_size();
        owner_->fences_ += fences;
        int max = owner_->max_fences_.load();
        while (fences > max && !owner_->max_fences_.compare_exchange_weak(max, fences)) {
        }
        owner_->records_ += request_.records_size();
        ++owner_->batches_;
        if (request_.records_size() > 1) {
          ++owner_->full_batches_;
          if (!request_.ack_later()) ++owner_->full_asking_batches_;
        }
        if (request_.ack_later()) {
          StartRead(&request_);
          return;
        }
        ++owner_->asking_batches_;
        *next.mutable_ack()->mutable_cursor() = request_.cursor();
      }
      Send(std::move(next));
      StartRead(&request_);
    }
    void OnWriteDone(bool) override {
      bool write = false, finish = false;
      {
        absl::MutexLock lock(&mu_);
        if (pending_) {
          out_ = *std::move(pending_);
          pending_.reset();
          write = true;
        } else {
          writing_ = false;
          finish = finish_after_write_;
        }
      }
      if (write) StartWrite(&out_);
      if (finish) Finish(grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    void Send(v1::FloodResponse response) {
      {
        absl::MutexLock lock(&mu_);
        if (writing_) {
          pending_ = std::move(response);
          return;
        }
        writing_ = true;
        out_ = std::move(response);
      }
      StartWrite(&out_);  // out_ is left alone until OnWriteDone
    }
    RecordingNeighbour* const owner_;
    v1::FloodRequest request_;
    absl::Mutex mu_;
    v1::FloodResponse out_;
    std::optional<v1::FloodResponse> pending_;
    bool writing_ = false;
    bool finish_after_write_ = false;
  };

  grpc::ServerBidiReactor<v1::FloodRequest, v1::FloodResponse>* Flood(
      grpc::CallbackServerContext*) override {
    return new Reactor(this);
  }

  std::atomic<int> max_fences_{0};
  std::atomic<int> fences_{0};
  std::atomic<int> records_{0};
  std::atomic<int> batches_{0};
  std::atomic<int> asking_batches_{0};
  std::atomic<int> full_batches_{0};
  std::atomic<int> full_asking_batches_{0};
};

// Serves `neighbour` at `port`, as B.
std::unique_ptr<grpc::Server> ServeAsB(RecordingNeighbour* neighbour, uint16_t port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials());
  builder.RegisterService(neighbour);
  return builder.BuildAndStart();
}

TEST_F(PeeringTest, ManyFencesGoInBoundedBatches) {
  auto a = MakeA();
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE(a->fences().Set(CircleFence("f" + std::to_string(i), 10)).ok());
  }
  RecordingNeighbour b;
  std::unique_ptr<grpc::Server> server = ServeAsB(&b, port_b_);
  ASSERT_NE(server, nullptr);
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return b.fences() == 600; }));
  EXPECT_LE(b.max_fences_per_batch(), 256);
  // A batch is counted as sent when its write completes, which can be after
  // the neighbour has read it.
  EXPECT_TRUE(WaitFor([&] { return a->Link().fences_sent() == 600u; })) << a->Link().fences_sent();
  a->Stop();
  server->Shutdown(std::chrono::system_clock::now());
}

// A quiet link (one record a batch) does not wait for each batch's
// acknowledgement: most batches say ack_later, about one in kAckEvery asks,
// and when the link falls silent an empty batch asks for the rest, so the
// backlog still comes back to nothing.
TEST_F(PeeringTest, AQuietLinkAsksForAnAcknowledgementOnlyNowAndThen) {
  auto a = MakeA();
  RecordingNeighbour b;
  std::unique_ptr<grpc::Server> server = ServeAsB(&b, port_b_);
  ASSERT_NE(server, nullptr);
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->Link().state() == v1::LinkStatus::CONNECTED; }));
  constexpr int kRecords = 64;
  for (int i = 0; i < kRecords; ++i) {
    a->store().Apply(At("quiet-" + std::to_string(i), "1"));
    // One at a time: each record is a batch of its own.
    ASSERT_TRUE(WaitFor([&] { return b.records() == i + 1; }));
  }
  EXPECT_TRUE(WaitFor([&] { return a->Link().backlog() == 0; })) << a->Link().backlog();
  EXPECT_GE(b.batches(), kRecords);
  // One in kAckEvery of the records' batches, the empty batch that asked
  // for the rest, and the batches that went out as the link began.
  EXPECT_LE(b.asking_batches(), kRecords / static_cast<int>(FloodCall::kAckEvery) + 4)
      << b.asking_batches() << " of " << b.batches();
  a->Stop();
  server->Shutdown(std::chrono::system_clock::now());
}

// A busy link is ack-clocked: every batch of several records asks, and the
// next waits for its acknowledgement.
TEST_F(PeeringTest, ABusyLinksBatchesOfSeveralRecordsEachAsk) {
  auto a = MakeA();
  for (int i = 0; i < 5000; ++i) a->store().Apply(At("busy-" + std::to_string(i), "1"));
  RecordingNeighbour b;
  std::unique_ptr<grpc::Server> server = ServeAsB(&b, port_b_);
  ASSERT_NE(server, nullptr);
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return b.records() == 5000; }));
  EXPECT_TRUE(WaitFor([&] { return a->Link().backlog() == 0; })) << a->Link().backlog();
  // The full state goes in batches of many records, each of which asks.
  EXPECT_GT(b.full_batches(), 1);
  EXPECT_EQ(b.full_asking_batches(), b.full_batches());
  a->Stop();
  server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace herd
