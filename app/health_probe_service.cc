#include "app/health_probe_service.h"

#include <utility>

namespace herd {

using grpc::health::v1::HealthCheckResponse;

HealthProbeService::HealthProbeService(std::set<std::string> services)
    : services_([&] {
        services.insert("");
        return std::move(services);
      }()) {}

grpc::ServerUnaryReactor* HealthProbeService::Check(
    grpc::CallbackServerContext* context, const grpc::health::v1::HealthCheckRequest* request,
    HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!services_.contains(request->service())) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"));
    return reactor;
  }
  response->set_status(serving_.load() ? HealthCheckResponse::SERVING
                                       : HealthCheckResponse::NOT_SERVING);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace herd
