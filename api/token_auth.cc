#include "api/token_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace herd {
namespace {

constexpr std::string_view kBearer = "bearer ";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The token of an "authorization: Bearer TOKEN" value (the scheme is
// case-insensitive, RFC 6750), or empty.
std::string_view BearerToken(std::string_view authorization) {
  if (authorization.size() <= kBearer.size() ||
      !absl::EqualsIgnoreCase(AsAbsl(authorization.substr(0, kBearer.size())), AsAbsl(kBearer))) {
    return {};
  }
  std::string_view token = authorization.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

// A caller's method path as a log shows it: escaped and cut short.
std::string Printable(std::string_view path) {
  return absl::CHexEscape(AsAbsl(path.substr(0, 128)));
}

}  // namespace

std::optional<Role> ParseRole(std::string_view name) {
  for (Role role : {Role::kRead, Role::kReport, Role::kAdmin}) {
    if (name == RoleName(role)) return role;
  }
  return std::nullopt;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kRead:
      return "read";
    case Role::kReport:
      return "report";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  return digest;
}

absl::StatusOr<Sha256Digest> ParseSha256Hex(std::string_view hex) {
  Sha256Digest digest;
  if (hex.size() != 2 * digest.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected 64 hex digits (a SHA-256), got ", hex.size(), " characters"));
  }
  for (size_t i = 0; i < digest.size(); ++i) {
    const int high = HexDigit(hex[2 * i]), low = HexDigit(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return absl::InvalidArgumentError("expected 64 hex digits (a SHA-256)");
    }
    digest[i] = static_cast<unsigned char>(high << 4 | low);
  }
  return digest;
}

TokenAuth::TokenAuth(Options options, ServerLog* log)
    : tokens_(std::move(options.tokens)), log_(log) {}

TokenAuth::Requirement TokenAuth::RequirementOf(std::string_view path) {
  using Kind = Requirement::Kind;
  for (std::string_view open : {"/grpc.health.v1.Health/", "/grpc.reflection.", "/herd.v1.Peer/"}) {
    if (path.substr(0, open.size()) == open) return {Kind::kOpen};
  }
  if (path == "/herd.v1.Locations/Report") return {Kind::kRole, Role::kReport};
  if (path.substr(0, 19) == "/herd.v1.Locations/") return {Kind::kRole, Role::kRead};
  // Fences: reading and watching is `read`; Set and Delete stay admin.
  for (std::string_view read :
       {"/herd.v1.Fences/Get", "/herd.v1.Fences/List", "/herd.v1.Fences/Watch"}) {
    if (path == read) return {Kind::kRole, Role::kRead};
  }
  return {Kind::kRole, Role::kAdmin};  // Admin, and anything not listed here
}

const TokenGrant* TokenAuth::Find(std::string_view token) const {
  if (token.empty()) return nullptr;
  const Sha256Digest digest = Sha256(token);
  const TokenGrant* found = nullptr;
  // Every digest is compared, each in constant time: how long a check takes
  // says nothing about which token nearly matched.
  for (const TokenGrant& grant : tokens_) {
    if (CRYPTO_memcmp(grant.sha256.data(), digest.data(), digest.size()) == 0) {
      found = &grant;
    }
  }
  return found;
}

grpc::Status TokenAuth::Check(std::string_view path, std::string_view authorization) const {
  const Requirement need = RequirementOf(path);
  if (need.kind == Requirement::Kind::kOpen) return grpc::Status::OK;
  const TokenGrant* grant = Find(BearerToken(authorization));
  if (grant == nullptr) {
    if (log_ != nullptr) {
      log_->Warn("auth: refused {}: {}", Printable(path),
                 authorization.empty() ? "no authorization metadata" : "unknown token");
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "this call needs metadata \"authorization: Bearer TOKEN\" with a "
                        "token this server knows");
  }
  if (!grant->Has(need.role)) {
    if (log_ != nullptr) {
      log_->Warn("auth: refused {}: token \"{}\" lacks the role \"{}\"", Printable(path),
                 grant->name, RoleName(need.role));
    }
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("token \"", grant->name, "\" lacks the role \"",
                                     AsAbsl(RoleName(need.role)), "\" that ", AsAbsl(path),
                                     " needs"));
  }
  return grpc::Status::OK;
}

grpc::Status TokenAuth::Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                                OutputMetadata* consumed_auth_metadata,
                                OutputMetadata* response_metadata) {
  std::string_view path, authorization;
  for (const auto& [key, value] : auth_metadata) {
    const std::string_view k(key.data(), key.size());
    if (k == ":path") path = std::string_view(value.data(), value.size());
    if (k == "authorization") authorization = std::string_view(value.data(), value.size());
  }
  grpc::Status status = Check(path, authorization);
  // Handlers never see the token, so nothing downstream can log it.
  if (status.ok() && !authorization.empty()) {
    consumed_auth_metadata->emplace("authorization", std::string(authorization));
  }
  return status;
}

}  // namespace herd
