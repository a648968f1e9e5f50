#include "peer/peering.h"

#include <utility>

namespace herd {
namespace {

constexpr int kKeepaliveMs = 1000;
constexpr int kKeepaliveTimeoutMs = 5000;
constexpr int kMinTimeBetweenResolutionsMs = 1000;
// HTTP/2 flow control for one long-lived stream that carries every record:
// a window large enough for many full batches, fixed, so the receiver
// announces more window rarely, and no BDP probing (a ping and its answer
// after each burst of data: two more wake-ups per batch, to size a window
// that is already large).
constexpr int kStreamWindowBytes = 8 << 20;

void SetFlowControl(grpc::ChannelArguments* args) {
  args->SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args->SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindowBytes);
}

std::shared_ptr<grpc::Channel> DialNeighbour(const Peering::Neighbour& neighbour,
                                             const Peering::Options& options,
                                             const LinkContext& context) {
  grpc::ChannelArguments args;
  if (options.credentials != nullptr) {
    // The neighbour proves its name, not the address it was reached at.
    args.SetSslTargetNameOverride(neighbour.name);
  }
  // A dead neighbour is noticed within seconds, not the 2-hour TCP default.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // And a returning one is found again within about a second.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(context.min_backoff.count()));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(context.min_backoff.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(context.max_backoff.count()));
  // A neighbour that comes back on a new address (spec section 10: names are
  // resolved again on reconnect) is found within about a second: gRPC's DNS
  // resolver re-resolves when a connection fails, but by default at most
  // once every 30 s.
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, kMinTimeBetweenResolutionsMs);
  // Each link gets its own connection, not one shared by target.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  SetFlowControl(&args);
  return grpc::CreateCustomChannel(
      neighbour.grpc_target,
      options.credentials != nullptr ? options.credentials : grpc::InsecureChannelCredentials(),
      args);
}

std::vector<std::string> Names(const std::vector<Peering::Neighbour>& neighbours) {
  std::vector<std::string> names;
  for (const auto& neighbour : neighbours) names.push_back(neighbour.name);
  return names;
}

double SecondsSinceEpoch(std::chrono::system_clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

// 0 while a stream either way is open; else seconds since the later of the
// two directions' last stream ended; -1 if neither ever opened.
double SecondsSinceContact(const LinkSnapshot& link, const InboundCounters* inbound) {
  if (link.connected || (inbound != nullptr && inbound->open_streams.load() > 0)) return 0;
  const auto now = std::chrono::system_clock::now();
  std::chrono::system_clock::time_point last = link.disconnected_at;
  if (inbound != nullptr && inbound->last_closed_ns.load() != 0) {
    last = std::max(last, std::chrono::system_clock::time_point(
                              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                  std::chrono::nanoseconds(inbound->last_closed_ns.load()))));
  }
  if (last == std::chrono::system_clock::time_point()) return -1;
  return std::chrono::duration<double>(now - last).count();
}

}  // namespace

Peering::Peering(Options options, Store* store, ServerLog* log, asio::any_io_executor executor)
    : context_{.self_name = options.self_name,
               .epoch = store->epoch(),
               .store = store,
               .fences = options.fences,
               .log = log,
               .max_batch_records = std::max<size_t>(1, options.max_batch_records),
               .min_backoff = options.min_backoff,
               .max_backoff = options.max_backoff},
      links_([&] {
        auto links = std::make_shared<LinkList>();
        for (const Neighbour& neighbour : options.neighbours) {
          links->push_back(std::make_shared<PeerLink>(
              neighbour.name, DialNeighbour(neighbour, options, context_), &context_, executor));
        }
        return links;
      }()),
      service_(PeerService::Options{options.self_name, store->epoch(), Names(options.neighbours),
                                    options.require_certificates, options.clock,
                                    options.max_future_s,
                                    [links = links_](const std::string& neighbour) {
                                      for (const auto& link : *links) {
                                        if (link->neighbour() == neighbour) link->Redial();
                                      }
                                    },
                                    options.metrics, options.resume_points, options.fences},
               store, log) {}

Peering::~Peering() {
  if (listener_id_ != 0) Shutdown();
}

void Peering::ConfigureServer(grpc::ServerBuilder* builder) {
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                              kKeepaliveMs / 2);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindowBytes);
}

void Peering::Start() {
  // The listener holds the link list, not `this`: it may run once more on
  // another thread after RemoveListener, and links ignore Wake once stopped.
  auto wake_all = [links = links_] {
    for (const auto& link : *links) link->Wake();
  };
  listener_id_ = context_.store->AddListener(wake_all);
  if (context_.fences != nullptr) fence_listener_id_ = context_.fences->AddListener(wake_all);
  for (const auto& link : *links_) link->Start();
}

void Peering::Shutdown() {
  if (listener_id_ == 0) return;
  context_.store->RemoveListener(listener_id_);
  listener_id_ = 0;
  if (fence_listener_id_ != 0) context_.fences->RemoveListener(fence_listener_id_);
  fence_listener_id_ = 0;
  // Cancel every stream first, then wait for them together.
  for (const auto& link : *links_) link->Stop();
  for (const auto& link : *links_) link->AwaitStopped();
}

void Peering::DropStreamsForTesting() {
  for (const auto& link : *links_) link->DropStream();
}

std::vector<v1::LinkStatus> Peering::Status() const {
  std::vector<v1::LinkStatus> out;
  for (const auto& link : *links_) {
    const LinkSnapshot snapshot = link->Snapshot();
    v1::LinkStatus status;
    status.set_neighbour(snapshot.neighbour);
    status.set_state(snapshot.connected ? v1::LinkStatus::CONNECTED : v1::LinkStatus::CONNECTING);
    if (snapshot.connected) {
      status.set_connected_since(SecondsSinceEpoch(snapshot.connected_since));
    }
    status.set_reconnects(snapshot.reconnects);
    status.set_records_sent(snapshot.records_sent);
    status.set_fences_sent(snapshot.fences_sent);
    status.set_backlog(
        context_.store->CountAfter(snapshot.acked.value_or(Store::Cursor{}), SIZE_MAX));
    status.set_last_error(snapshot.last_error);
    status.set_catch_up_records(snapshot.catch_up_records);
    status.set_resumed(snapshot.resumed);
    status.set_seconds_since_contact(
        SecondsSinceContact(snapshot, service_.counters(snapshot.neighbour)));
    if (const InboundCounters* counters = service_.counters(snapshot.neighbour)) {
      status.set_records_received(counters->records_received.load());
      status.set_records_accepted(counters->records_accepted.load());
      status.set_records_dropped(counters->records_rejected.load() +
                                 counters->records_too_far_ahead.load());
      status.set_inbound_connected(counters->open_streams.load() > 0);
      status.set_fences_received(counters->fences_received.load());
      status.set_fences_accepted(counters->fences_accepted.load());
      status.set_fences_dropped(counters->fences_dropped.load());
    }
    out.push_back(std::move(status));
  }
  return out;
}

}  // namespace herd
