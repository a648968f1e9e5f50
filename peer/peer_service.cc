#include "peer/peer_service.h"

#include <utility>

#include "absl/strings/match.h"
#include "common/strings.h"
#include "peer/flood_receiver.h"

namespace herd {

PeerService::PeerService(Options options, Store* store, ServerLog* log)
    : self_name_(std::move(options.self_name)),
      epoch_(options.epoch),
      require_certificates_(options.require_certificates),
      clock_(std::move(options.clock)),
      max_future_s_(options.max_future_s),
      on_accepted_(std::move(options.on_accepted)),
      metrics_(options.metrics),
      store_(store),
      fences_(options.fences),
      log_(log) {
  for (const std::string& neighbour : options.neighbours) {
    counters_[neighbour] = std::make_unique<InboundCounters>();
  }
  resume_book_.Import(options.resume_points);
}

bool PeerService::CallerIs(grpc::CallbackServerContext* context, const std::string& name) const {
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
  return FloodReceiver::Start(this, context);
}

}  // namespace herd
