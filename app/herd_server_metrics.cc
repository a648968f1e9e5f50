// HerdServer's metrics: which counters exist, the endpoint, and what a scrape
// reads. Kept apart from herd_server.cc, which only calls these.

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "app/herd_server.h"
#include "metrics/metered_places_provider.h"
#include "metrics/process_stats.h"
#include "places/places_cache.h"
#include "places/provider_factory.h"

namespace herd {
namespace {

using prometheus::MetricType;

const char* GrpcCodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  return code >= 0 && code < 17 ? kNames[code] : "UNKNOWN";
}

// The provider `places` means, as the factory resolves "auto".
std::string ProviderName(const PlacesSettings& places) {
  return std::string(PlacesProviderName(
      ResolvePlacesProvider(places.provider, std::getenv(places.api_key_env.c_str()))));
}

// civetweb listens on numeric addresses only: "127.0.0.1:12400", "[::1]:12400".
absl::StatusOr<std::string> NumericAddress(asio::io_context& io, const HostPort& address) {
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(address.host, std::to_string(address.port),
                                  tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics: cannot resolve ", address.ToString(), ": ", ec.message()));
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  const std::string ip = endpoint.address().to_string();
  return endpoint.address().is_v6() ? absl::StrCat("[", ip, "]:", endpoint.port())
                                    : absl::StrCat(ip, ":", endpoint.port());
}

}  // namespace

void HerdServer::CreateMetrics() {
  if (!self_.metrics) return;
  metrics_ = std::make_unique<ServerMetrics>();
  for (const std::string& neighbour : config_.NeighboursOf(self_.name)) {
    metrics_->neighbours[neighbour] = std::make_unique<ServerMetrics::Neighbour>();
  }
  grpc_calls_ = std::make_unique<GrpcCallCounter>();
  places_ =
      std::make_unique<MeteredPlacesProvider>(std::move(places_), ProviderName(config_.places));
}

absl::Status HerdServer::StartMetrics() {
  if (!self_.metrics) return absl::OkStatus();
  absl::StatusOr<std::string> address = NumericAddress(io_, *self_.metrics);
  if (!address.ok()) return address.status();
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> endpoint =
      MetricsEndpoint::Start(*address, [this](FamilyBuilder& out) { CollectMetrics(out); });
  if (!endpoint.ok()) return endpoint.status();
  metrics_endpoint_ = *std::move(endpoint);
  log_->Info("{} serving metrics on http://{}/metrics", self_.name, self_.metrics->ToString());
  return absl::OkStatus();
}

void HerdServer::CollectMetrics(FamilyBuilder& out) const {
  const ServerMetrics& m = *metrics_;
  out.Family("herd_server_info", "This server: its name and store epoch.", MetricType::Gauge)
      .Gauge(1, {{"server", self_.name}, {"epoch", absl::StrCat(store_->epoch())}});

  // edge
  out.Family("herd_edge_connections_open", "Text connections open now.", MetricType::Gauge)
      .Gauge(static_cast<double>(edge_->active_connections()));
  out.Family("herd_edge_connections_accepted_total", "Text connections accepted.",
             MetricType::Counter)
      .Counter(static_cast<double>(m.connections_accepted.Value()));
  out.Family("herd_edge_connections_refused_total",
             "Text connections refused (edge.max_connections open).", MetricType::Counter)
      .Counter(static_cast<double>(m.connections_refused.Value()));
  static constexpr const char* kKinds[] = {"IAMAT", "WHATSAT", "other"};
  static constexpr const char* kOutcomes[] = {"accepted", "not_newer", "answered", "invalid"};
  out.Family("herd_edge_commands_total",
             "Text commands by kind and outcome: IAMAT accepted|not_newer|invalid, WHATSAT "
             "answered|invalid, other (unparsable) invalid.",
             MetricType::Counter);
  for (int kind = 0; kind < ServerMetrics::kCommandKinds; ++kind) {
    for (int outcome = 0; outcome < ServerMetrics::kCommandOutcomes; ++outcome) {
      const bool meaningful =
          outcome == ServerMetrics::kInvalid ||
          (kind == ServerMetrics::kIamat &&
           (outcome == ServerMetrics::kAccepted || outcome == ServerMetrics::kNotNewer)) ||
          (kind == ServerMetrics::kWhatsat && outcome == ServerMetrics::kAnswered);
      if (!meaningful) continue;
      out.Counter(static_cast<double>(m.commands[kind][outcome].Value()),
                  {{"kind", kKinds[kind]}, {"outcome", kOutcomes[outcome]}});
    }
  }
  out.Family("herd_edge_reply_duration_seconds",
             "Time from a valid command's line being parsed to its reply being buffered "
             "(WHATSAT: including the Places answer).",
             MetricType::Histogram);
  for (int kind : {ServerMetrics::kIamat, ServerMetrics::kWhatsat}) {
    out.Histogram(m.reply_latency[kind].Read(), {{"kind", kKinds[kind]}});
  }

  // store
  out.Family("herd_store_clients", "Clients in the store (one record each).", MetricType::Gauge)
      .Gauge(static_cast<double>(store_->size()));
  static constexpr const char* kSources[] = {"edge", "peer", "api"};
  out.Family("herd_store_record_bytes",
             "Bytes the records themselves take (their blocks as malloc sized them), not the "
             "indexes around them.",
             MetricType::Gauge)
      .Gauge(static_cast<double>(store_->record_bytes()));
  out.Family("herd_store_records_total",
             "Records offered to the store, by source (edge, peer, api) and outcome "
             "(accepted, not_newer).",
             MetricType::Counter);
  for (int source = 0; source < ServerMetrics::kSources; ++source) {
    out.Counter(static_cast<double>(m.records_accepted[source].Value()),
                {{"source", kSources[source]}, {"outcome", "accepted"}});
    out.Counter(static_cast<double>(m.records_not_newer[source].Value()),
                {{"source", kSources[source]}, {"outcome", "not_newer"}});
  }

  // peers
  const std::vector<v1::LinkStatus> links = peering_->Status();
  const int64_t now = clock_();
  auto per_link = [&](const char* name, const char* help, MetricType type, auto value) {
    out.Family(name, help, type);
    for (const v1::LinkStatus& link : links) {
      const double v = static_cast<double>(value(link));
      if (type == MetricType::Counter) {
        out.Counter(v, {{"neighbour", link.neighbour()}});
      } else {
        out.Gauge(v, {{"neighbour", link.neighbour()}});
      }
    }
  };
  per_link("herd_peer_link_up", "1 if the stream to this neighbour is open, else 0.",
           MetricType::Gauge,
           [](const v1::LinkStatus& l) { return l.state() == v1::LinkStatus::CONNECTED; });
  per_link("herd_peer_inbound_up", "1 if this neighbour's stream to us is open, else 0.",
           MetricType::Gauge, [](const v1::LinkStatus& l) { return l.inbound_connected(); });
  per_link("herd_peer_reconnects_total", "Outbound streams opened after the first.",
           MetricType::Counter, [](const v1::LinkStatus& l) { return l.reconnects(); });
  per_link("herd_peer_backlog_records", "Records not yet acknowledged by the neighbour.",
           MetricType::Gauge, [](const v1::LinkStatus& l) { return l.backlog(); });
  per_link("herd_peer_records_sent_total", "Records sent on outbound streams.", MetricType::Counter,
           [](const v1::LinkStatus& l) { return l.records_sent(); });
  per_link("herd_peer_records_received_total", "Records received on inbound streams.",
           MetricType::Counter, [](const v1::LinkStatus& l) { return l.records_received(); });
  per_link("herd_peer_records_accepted_total", "Records received that were newer (kept).",
           MetricType::Counter, [](const v1::LinkStatus& l) { return l.records_accepted(); });
  per_link("herd_peer_records_dropped_total",
           "Records received that were malformed or too far ahead.", MetricType::Counter,
           [](const v1::LinkStatus& l) { return l.records_dropped(); });
  out.Family("herd_peer_seconds_since_contact",
             "Seconds since this server was last in contact with the neighbour: 0 while a "
             "stream either way is open (keepalive confirms it every second), else since the "
             "last one closed (absent: never in contact).",
             MetricType::Gauge);
  for (const v1::LinkStatus& link : links) {
    if (link.seconds_since_contact() >= 0) {
      out.Gauge(link.seconds_since_contact(), {{"neighbour", link.neighbour()}});
    }
  }
  out.Family("herd_peer_seconds_since_last_received",
             "Seconds since the last batch of records from this neighbour (absent: none yet).",
             MetricType::Gauge);
  for (const auto& [name, neighbour] : m.neighbours) {
    const int64_t last = neighbour->last_received_ns.load(std::memory_order_relaxed);
    if (last != 0) out.Gauge(static_cast<double>(now - last) / 1e9, {{"neighbour", name}});
  }
  out.Family("herd_peer_propagation_lag_seconds",
             "For records from this neighbour that were accepted: receive time here minus "
             "receive time at their origin (client time plus skew).",
             MetricType::Histogram);
  for (const auto& [name, neighbour] : m.neighbours) {
    out.Histogram(neighbour->propagation_lag.Read(), {{"neighbour", name}});
  }

  // fences
  out.Family("herd_fences", "Live geofences this server holds.", MetricType::Gauge)
      .Gauge(static_cast<double>(fences_->size()));
  out.Family("herd_fence_events_total",
             "Fence events this server fired (for reports of its own clients).",
             MetricType::Counter)
      .Counter(static_cast<double>(fences_->events_fired()));
  out.Family("herd_fence_watch_streams", "Fences/Watch streams open.", MetricType::Gauge)
      .Gauge(static_cast<double>(fences_service_->watch_streams()));
  const WebhookSender::Counters hooks = webhooks_->counters();
  out.Family("herd_fence_webhooks_total",
             "Webhook deliveries: delivered (2xx), retried (attempts retried), failed (given "
             "up), dropped (the queue was full).",
             MetricType::Counter);
  out.Counter(static_cast<double>(hooks.delivered), {{"outcome", "delivered"}});
  out.Counter(static_cast<double>(hooks.retried), {{"outcome", "retried"}});
  out.Counter(static_cast<double>(hooks.failed), {{"outcome", "failed"}});
  out.Counter(static_cast<double>(hooks.dropped), {{"outcome", "dropped"}});
  out.Family("herd_fence_webhooks_held", "Events waiting for webhook delivery, retries included.",
             MetricType::Gauge)
      .Gauge(static_cast<double>(webhooks_->held()));

  // places
  const auto* places = static_cast<const MeteredPlacesProvider*>(places_.get());
  const MeteredPlacesProvider::Counters& pc = places->counters();
  out.Family("herd_places_requests_total",
             "Places questions answered (not from the edge's rendered cache), by provider and "
             "Nearby Search status.",
             MetricType::Counter);
  for (size_t i = 0; i < MeteredPlacesProvider::kStatuses.size(); ++i) {
    out.Counter(static_cast<double>(pc.answers[i].Value()),
                {{"provider", places->provider()},
                 {"status", std::string(MeteredPlacesProvider::kStatuses[i])}});
  }
  out.Family("herd_places_request_duration_seconds",
             "Time from a Places question to its answer (cache, single flight and upstream).",
             MetricType::Histogram)
      .Histogram(pc.duration.Read(), {{"provider", places->provider()}});
  out.Family("herd_places_requests_in_progress",
             "Places questions not yet answered: waiting for an HTTP slot, in flight, or "
             "joined to another's request (the queue depth).",
             MetricType::Gauge)
      .Gauge(static_cast<double>(pc.in_progress.load(std::memory_order_relaxed)),
             {{"provider", places->provider()}});
  out.Family("herd_places_rendered_cache_total",
             "The edge's look-ups of rendered answers: hit or miss.", MetricType::Counter);
  out.Counter(static_cast<double>(pc.rendered_hits.Value()),
              {{"provider", places->provider()}, {"result", "hit"}});
  out.Counter(static_cast<double>(pc.rendered_misses.Value()),
              {{"provider", places->provider()}, {"result", "miss"}});
  if (const auto* cache = dynamic_cast<const CachingPlacesProvider*>(places->inner())) {
    const CachingPlacesProvider::Stats stats = cache->stats();
    out.Family("herd_places_cache_total",
               "Places cache look-ups: hit, miss (sent upstream), joined (waited for the same "
               "question upstream).",
               MetricType::Counter);
    out.Counter(static_cast<double>(stats.hits), {{"result", "hit"}});
    out.Counter(static_cast<double>(stats.misses), {{"result", "miss"}});
    out.Counter(static_cast<double>(stats.joined), {{"result", "joined"}});
    out.Family("herd_places_cache_entries", "Answers kept in the Places cache.", MetricType::Gauge)
        .Gauge(static_cast<double>(stats.entries));
  }

  // gRPC API
  out.Family("herd_grpc_calls_total", "gRPC calls finished, by full method and status code.",
             MetricType::Counter);
  for (const GrpcCallCounter::Entry& entry : grpc_calls_->Snapshot()) {
    out.Counter(static_cast<double>(entry.calls),
                {{"method", entry.method}, {"code", GrpcCodeName(entry.code)}});
  }
  out.Family("herd_api_watch_streams", "Locations.Watch streams open now.", MetricType::Gauge)
      .Gauge(static_cast<double>(locations_->watchers()));
  out.Family("herd_api_watch_skipped_total",
             "Versions Watch streams reported as skipped (superseded before the stream read "
             "them).",
             MetricType::Counter)
      .Counter(static_cast<double>(m.watch_skipped.Value()));

  // log
  out.Family("herd_log_lines_written_total", "Lines written to the server log.",
             MetricType::Counter)
      .Counter(static_cast<double>(log_->lines_written()));
  out.Family("herd_log_lines_dropped_total",
             "Lines lost: dropped because the log could not keep up, or refused by a full "
             "disk.",
             MetricType::Counter)
      .Counter(static_cast<double>(log_->lost_lines()));

  // process
  if (const std::optional<ProcessStats> process = ReadProcessStats()) {
    out.Family("herd_process_cpu_seconds_total", "User and system CPU time.", MetricType::Counter)
        .Counter(process->cpu_seconds);
    out.Family("herd_process_resident_memory_bytes", "Resident memory.", MetricType::Gauge)
        .Gauge(static_cast<double>(process->resident_bytes));
    out.Family("herd_process_open_fds", "Open file descriptors.", MetricType::Gauge)
        .Gauge(static_cast<double>(process->open_fds));
    out.Family("herd_process_start_time_seconds", "Start time, seconds since the epoch.",
               MetricType::Gauge)
        .Gauge(process->start_time_seconds);
  }
}

}  // namespace herd
