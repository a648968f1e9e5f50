#include "app/grpc_limits.h"

#include <sys/resource.h>

#include <algorithm>
#include <utility>

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

#include "grpc/health/v1/health.grpc.pb.h"

namespace herd {
namespace {

// A connection that has not finished its HTTP/2 (or TLS) handshake by then
// is closed: a raw TCP connection that sends nothing holds an fd for
// seconds, not gRPC's default two minutes.
constexpr int kHandshakeTimeoutMs = 10'000;

}  // namespace

uint64_t RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? uint64_t{1} << 20 : limit.rlim_cur;
}

uint64_t ReservedFileDescriptors(uint64_t file_limit) {
  // A quarter, at least 64 (never more than the limit itself).
  return std::min<uint64_t>(file_limit, std::max<uint64_t>(64, file_limit / 4));
}

size_t EdgeConnectionBudget(size_t configured, uint64_t file_limit) {
  const uint64_t available = file_limit - ReservedFileDescriptors(file_limit);
  return static_cast<size_t>(std::min<uint64_t>(configured, std::max<uint64_t>(available, 1)));
}

void ApplyResourceLimits(grpc::ServerBuilder* builder, const GrpcLimitsConfig& limits) {
  grpc::ResourceQuota quota("herd");
  quota.Resize(limits.memory_bytes);
  quota.SetMaxThreads(limits.max_threads);
  builder->SetResourceQuota(quota);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                              static_cast<int>(limits.max_concurrent_streams));
  builder->AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, kHandshakeTimeoutMs);
}

GrpcListenerProbe::GrpcListenerProbe(std::string target,
                                     std::shared_ptr<grpc::ChannelCredentials> credentials,
                                     grpc::Server* server, ServerLog* log,
                                     std::chrono::milliseconds deadline, std::string tls_name)
    : target_(std::move(target)),
      credentials_(std::move(credentials)),
      server_(server),
      log_(log),
      deadline_(deadline),
      tls_name_(std::move(tls_name)) {}

bool GrpcListenerProbe::ProbeOnce() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
  if (!tls_name_.empty()) args.SetSslTargetNameOverride(tls_name_);
  auto channel = grpc::CreateCustomChannel(target_, credentials_, args);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline_);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  // A listener that no longer accepts leaves the connection in the
  // kernel's backlog: no answer at all until the deadline. Anything else
  // (an answer, or the server closing a connection whose credentials it
  // does not like) means it accepted.
  return status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED;
}

void GrpcListenerProbe::Run() {
  if (ProbeOnce()) {
    failures_ = 0;
    if (!serving_) {
      serving_ = true;
      server_->GetHealthCheckService()->SetServingStatus(true);
      log_->Warn("gRPC listener {} accepts connections again: SERVING", target_);
    }
    return;
  }
  if (++failures_ < kFailuresBeforeNotServing || !serving_) return;
  serving_ = false;
  server_->GetHealthCheckService()->SetServingStatus(false);
  log_->Error(
      "gRPC listener {} does not accept connections ({} probes failed): NOT_SERVING; "
      "restart this server",
      target_, failures_);
}

}  // namespace herd
