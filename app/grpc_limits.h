#ifndef HERD_APP_GRPC_LIMITS_H_
#define HERD_APP_GRPC_LIMITS_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "app/config.h"
#include "common/server_log.h"

namespace herd {

// File descriptors and the gRPC server's resources (issue 11, item 1).
//
// gRPC 1.51 stops accepting for good once accept4 fails with EMFILE, and
// has no cap on incoming connections. So: the soft fd limit is raised to
// the hard one at start; the edge takes at most what leaves a reserve for
// gRPC, the log and Places; gRPC gets a memory and thread quota, a cap on
// streams per connection, and closes connections that never complete their
// HTTP/2 (or TLS) handshake; and a probe reports NOT_SERVING on the health
// service if the listener stops accepting anyway.

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit
// now in force.
uint64_t RaiseFileLimit();

// File descriptors kept for everything but edge connections (gRPC
// connections, peers, the log, Places, the process itself), out of
// `file_limit`.
uint64_t ReservedFileDescriptors(uint64_t file_limit);

// The edge connection cap that fits the fd budget: `configured`, or less
// if the process may not open that many descriptors besides its reserve.
size_t EdgeConnectionBudget(size_t configured, uint64_t file_limit);

// Quota, stream cap and handshake deadline for the gRPC server. Call once
// while building it.
void ApplyResourceLimits(grpc::ServerBuilder* builder, const GrpcLimitsConfig& limits);

// Checks that a gRPC listener still accepts: each Run() opens a new
// connection to it (never a pooled one) and calls grpc.health.v1.Health/Check;
// only a call that gets nothing back by its deadline is a failure, so
// credentials the server refuses do not count (the probe may stay
// insecure in front of a TLS port).
// After kFailuresBeforeNotServing failures in a row the server's health
// becomes NOT_SERVING (and an error is logged); the next success makes it
// SERVING again.
//
// Not thread-safe: Run() blocks for up to the probe deadline and belongs on
// a housekeeping thread, never an Asio thread or a gRPC reaction.
class GrpcListenerProbe {
 public:
  static constexpr int kFailuresBeforeNotServing = 3;

  // REQUIRES: `server` and `log` outlive the probe.
  // With TLS credentials, `tls_name` is the name the server's certificate
  // must carry (the server's own name), whatever address `target` is.
  GrpcListenerProbe(std::string target, std::shared_ptr<grpc::ChannelCredentials> credentials,
                    grpc::Server* server, ServerLog* log,
                    std::chrono::milliseconds deadline = std::chrono::seconds(3),
                    std::string tls_name = "");
  GrpcListenerProbe(const GrpcListenerProbe&) = delete;
  GrpcListenerProbe& operator=(const GrpcListenerProbe&) = delete;

  void Run();
  bool serving() const { return serving_; }

 private:
  bool ProbeOnce();

  const std::string target_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  grpc::Server* const server_;
  ServerLog* const log_;
  const std::chrono::milliseconds deadline_;
  const std::string tls_name_;
  int failures_ = 0;
  bool serving_ = true;
};

}  // namespace herd

#endif  // HERD_APP_GRPC_LIMITS_H_
