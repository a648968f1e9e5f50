#ifndef HERD_API_ADMIN_SERVICE_H_
#define HERD_API_ADMIN_SERVICE_H_

#include <functional>

#include <grpcpp/grpcpp.h>

#include "herd/v1/herd.grpc.pb.h"

namespace herd {

// herd.v1.Admin: what an operator asks a server about itself. The status is
// assembled by whoever knows every part (the app), through `status`.
//
// Thread-safe if `status` is.
class AdminService final : public v1::Admin::CallbackService {
 public:
  using StatusSource = std::function<v1::StatusResponse()>;

  explicit AdminService(StatusSource status) : status_(std::move(status)) {}

 private:
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const v1::StatusRequest* request,
                                   v1::StatusResponse* response) override;

  const StatusSource status_;
};

}  // namespace herd

#endif  // HERD_API_ADMIN_SERVICE_H_
