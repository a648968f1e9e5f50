#ifndef HERD_METRICS_GRPC_CALL_COUNTER_H_
#define HERD_METRICS_GRPC_CALL_COUNTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/support/server_interceptor.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace herd {

// Counts finished gRPC calls by full method name and status code, from a
// server interceptor (one per call, created by the factory below) that sees
// the status a handler sends. gRPC calls are far fewer than text commands
// and never on the edge's threads, so a mutex here costs nothing that shows.
//
// Thread-safe.
class GrpcCallCounter {
 public:
  struct Entry {
    std::string method;  // "/herd.v1.Locations/Get"
    int code = 0;        // grpc::StatusCode
    uint64_t calls = 0;
  };

  GrpcCallCounter() = default;
  GrpcCallCounter(const GrpcCallCounter&) = delete;
  GrpcCallCounter& operator=(const GrpcCallCounter&) = delete;

  void Count(const std::string& method, int code);
  std::vector<Entry> Snapshot() const;

  // A factory for grpc::ServerBuilder::experimental().SetInterceptorCreators.
  // REQUIRES: this counter outlives the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> Factory();

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::pair<std::string, int>, uint64_t> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_METRICS_GRPC_CALL_COUNTER_H_
