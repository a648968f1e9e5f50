#include "tests/integration/herd_status.h"

#include <chrono>

#include <grpcpp/grpcpp.h>

#include "herd/v1/herd.grpc.pb.h"

namespace herd::testing {

std::optional<v1::StatusResponse> TryStatus(const HerdProcesses& herd, const std::string& server) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(herd.grpc_port(server)),
                                     grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::StatusResponse response;
  if (!v1::Admin::NewStub(channel)->Status(&context, v1::StatusRequest(), &response).ok()) {
    return std::nullopt;
  }
  return response;
}

bool AllLinksIdle(const HerdProcesses& herd, const std::vector<std::string>& servers) {
  for (const std::string& server : servers) {
    const std::optional<v1::StatusResponse> status = TryStatus(herd, server);
    if (!status) return false;
    for (const v1::LinkStatus& link : status->links()) {
      if (link.state() != v1::LinkStatus::CONNECTED || link.backlog() != 0) return false;
    }
  }
  return true;
}

}  // namespace herd::testing
