#ifndef HERD_APP_HEALTH_PROBE_SERVICE_H_
#define HERD_APP_HEALTH_PROBE_SERVICE_H_

#include <atomic>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"

namespace herd {

// grpc.health.v1.Health alone, for servers[].health: a plaintext port that
// probes which cannot speak TLS (Kubernetes' gRPC probes) may reach while
// every other gRPC port serves TLS. It reveals nothing but whether the
// server is serving: Check answers SERVING for "" and the server's service
// names while set_serving(true), NOT_SERVING otherwise, NOT_FOUND for any
// other name. Watch is not offered (probes use Check).
//
// Thread-safe.
class HealthProbeService final : public grpc::health::v1::Health::CallbackService {
 public:
  explicit HealthProbeService(std::set<std::string> services);
  HealthProbeService(const HealthProbeService&) = delete;
  HealthProbeService& operator=(const HealthProbeService&) = delete;

  void set_serving(bool serving) { serving_.store(serving); }

 private:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;

  // Constant after construction.
  const std::set<std::string> services_;  // "" included
  std::atomic<bool> serving_{false};
};

}  // namespace herd

#endif  // HERD_APP_HEALTH_PROBE_SERVICE_H_
