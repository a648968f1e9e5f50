#ifndef HERD_API_TOKEN_AUTH_H_
#define HERD_API_TOKEN_AUTH_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>

#include "absl/status/statusor.h"
#include "common/server_log.h"

namespace herd {

// What a bearer token may do on the public services (SPEC section 8).
enum class Role : uint8_t {
  kRead = 1,    // Locations Get, List, Watch, Within, Nearby
  kReport = 2,  // Locations Report
  kAdmin = 4,   // Admin
};

// "read" | "report" | "admin".
std::optional<Role> ParseRole(std::string_view name);
std::string_view RoleName(Role role);

using Sha256Digest = std::array<unsigned char, 32>;

Sha256Digest Sha256(std::string_view data);

// 64 hex digits (either case) to a digest.
absl::StatusOr<Sha256Digest> ParseSha256Hex(std::string_view hex);

// One configured token: its name (for logs), the SHA-256 of its secret (the
// secret itself is never configured) and a bit set of Roles.
struct TokenGrant {
  std::string name;
  Sha256Digest sha256{};
  uint8_t roles = 0;

  bool Has(Role role) const { return (roles & static_cast<uint8_t>(role)) != 0; }
};

// Bearer-token checks for every call a gRPC server receives, as an
// AuthMetadataProcessor: the call's path says which role it needs, the
// `authorization: Bearer TOKEN` metadata which token it carries, and a call
// is refused before any handler runs (UNAUTHENTICATED without a known token,
// PERMISSION_DENIED without the role). Health, reflection and the Peer
// service (whose callers are checked by certificate) need no token.
//
// The token's secret is hashed and compared with every configured digest in
// constant time; neither the secret nor its digest is ever logged.
//
// Thread-safe (immutable after construction).
class TokenAuth final : public grpc::AuthMetadataProcessor {
 public:
  struct Options {
    std::vector<TokenGrant> tokens;
  };

  // `log` (may be null) receives one line per refused call, naming the
  // method and the token's configured name, never its secret.
  TokenAuth(Options options, ServerLog* log);

  // Hashing a short token is quick: run on gRPC's own thread.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

  // The decision for one call: `path` is "/package.Service/Method",
  // `authorization` the metadata value (empty if absent).
  grpc::Status Check(std::string_view path, std::string_view authorization) const;

  // What a method asks of its caller. Unknown methods (a service added
  // later, a mistyped or missing path) need the admin role: closed unless
  // opened on purpose.
  struct Requirement {
    enum class Kind { kOpen, kRole } kind = Kind::kRole;
    Role role = Role::kAdmin;  // for kRole
  };
  static Requirement RequirementOf(std::string_view path);

 private:
  // The grant whose digest matches `token`, or null.
  const TokenGrant* Find(std::string_view token) const;

  // Constant after construction.
  const std::vector<TokenGrant> tokens_;
  ServerLog* const log_;
};

}  // namespace herd

#endif  // HERD_API_TOKEN_AUTH_H_
