// Bearer-token decisions for every public method and every kind of caller
// (SPEC section 8); the same processor on real gRPC servers is tested in
// tests/integration/trust_test.cc.

#include "api/token_auth.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herd {
namespace {

TokenGrant Grant(const std::string& name, const std::string& secret, std::vector<Role> roles) {
  TokenGrant grant{name, Sha256(secret), 0};
  for (Role role : roles) grant.roles |= static_cast<uint8_t>(role);
  return grant;
}

class TokenAuthTest : public ::testing::Test {
 protected:
  TokenAuthTest()
      : auth_(TokenAuth::Options{{Grant("admin", "s3cret-admin",
                                        {Role::kRead, Role::kReport, Role::kAdmin}),
                                  Grant("reader", "s3cret-read", {Role::kRead}),
                                  Grant("reporter", "s3cret-report", {Role::kReport})}},
              nullptr) {}

  grpc::StatusCode Code(const std::string& path, const std::string& authorization) {
    return auth_.Check(path, authorization).error_code();
  }

  TokenAuth auth_;
};

const std::vector<std::string> kReadMethods = {
    "/herd.v1.Locations/Get",    "/herd.v1.Locations/List",   "/herd.v1.Locations/Watch",
    "/herd.v1.Locations/Within", "/herd.v1.Locations/Nearby", "/herd.v1.Fences/Get",
    "/herd.v1.Fences/List",      "/herd.v1.Fences/Watch"};
const std::vector<std::string> kFenceAdminMethods = {"/herd.v1.Fences/Set",
                                                     "/herd.v1.Fences/Delete"};

TEST_F(TokenAuthTest, EveryMethodNeedsAKnownToken) {
  std::vector<std::string> methods = kReadMethods;
  methods.push_back("/herd.v1.Locations/Report");
  methods.push_back("/herd.v1.Admin/Status");
  for (const std::string& method : methods) {
    for (const std::string authorization :
         {"", "Bearer", "Bearer ", "Bearer wrong", "s3cret-admin", "Basic s3cret-admin",
          "Bearer s3cret-admin2", "Bearer S3CRET-ADMIN"}) {
      EXPECT_EQ(Code(method, authorization), grpc::StatusCode::UNAUTHENTICATED)
          << method << " with \"" << authorization << "\"";
    }
  }
}

TEST_F(TokenAuthTest, RolesDecide) {
  for (const std::string& method : kReadMethods) {
    EXPECT_EQ(Code(method, "Bearer s3cret-read"), grpc::StatusCode::OK) << method;
    EXPECT_EQ(Code(method, "Bearer s3cret-admin"), grpc::StatusCode::OK) << method;
    EXPECT_EQ(Code(method, "Bearer s3cret-report"), grpc::StatusCode::PERMISSION_DENIED) << method;
  }
  EXPECT_EQ(Code("/herd.v1.Locations/Report", "Bearer s3cret-report"), grpc::StatusCode::OK);
  EXPECT_EQ(Code("/herd.v1.Locations/Report", "Bearer s3cret-read"),
            grpc::StatusCode::PERMISSION_DENIED);
  for (const std::string& method : kFenceAdminMethods) {
    EXPECT_EQ(Code(method, "Bearer s3cret-admin"), grpc::StatusCode::OK) << method;
    EXPECT_EQ(Code(method, "Bearer s3cret-read"), grpc::StatusCode::PERMISSION_DENIED) << method;
    EXPECT_EQ(Code(method, "Bearer s3cret-report"), grpc::StatusCode::PERMISSION_DENIED) << method;
  }
  EXPECT_EQ(Code("/herd.v1.Fences/GetX", "Bearer s3cret-read"),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Code("/herd.v1.Admin/Status", "Bearer s3cret-admin"), grpc::StatusCode::OK);
  EXPECT_EQ(Code("/herd.v1.Admin/Status", "Bearer s3cret-read"),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Code("/herd.v1.Admin/Status", "Bearer s3cret-report"),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(TokenAuthTest, TheSchemeIsCaseInsensitive) {
  EXPECT_EQ(Code("/herd.v1.Admin/Status", "bearer s3cret-admin"), grpc::StatusCode::OK);
  EXPECT_EQ(Code("/herd.v1.Admin/Status", "BEARER  s3cret-admin "), grpc::StatusCode::OK);
}

TEST_F(TokenAuthTest, HealthReflectionAndPeersAreOpen) {
  for (const char* method :
       {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "/herd.v1.Peer/Flood"}) {
    EXPECT_EQ(Code(method, ""), grpc::StatusCode::OK) << method;
    EXPECT_EQ(Code(method, "Bearer wrong"), grpc::StatusCode::OK) << method;
  }
}

TEST_F(TokenAuthTest, UnknownMethodsNeedTheAdminRole) {
  EXPECT_EQ(Code("/herd.v1.Nope/Nothing", ""), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Code("/herd.v1.Nope/Nothing", "Bearer s3cret-report"),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Code("/herd.v1.Nope/Nothing", "Bearer s3cret-admin"), grpc::StatusCode::OK);
  EXPECT_EQ(Code("", "Bearer s3cret-read"), grpc::StatusCode::PERMISSION_DENIED);
  // A look-alike of an open prefix is not open.
  EXPECT_EQ(Code("/grpc.health.v1.HealthX/Check", ""), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Code("/herd.v1.PeerX/Flood", ""), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(TokenAuthTest, TheMessageNamesTheTokenAndRoleButNeverTheSecret) {
  const grpc::Status denied = auth_.Check("/herd.v1.Admin/Status", "Bearer s3cret-read");
  EXPECT_EQ(denied.error_message(),
            "token \"reader\" lacks the role \"admin\" that /herd.v1.Admin/Status needs");
  const grpc::Status unknown = auth_.Check("/herd.v1.Admin/Status", "Bearer s3cret-nope");
  EXPECT_EQ(unknown.error_message().find("s3cret"), std::string::npos);
}

TEST(Sha256Test, KnownDigestAndHexParsing) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  const std::string hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  absl::StatusOr<Sha256Digest> parsed = ParseSha256Hex(hex);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, Sha256("abc"));
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_EQ(*ParseSha256Hex(upper), Sha256("abc"));
  EXPECT_FALSE(ParseSha256Hex(hex.substr(1)).ok());
  EXPECT_FALSE(ParseSha256Hex("zz" + hex.substr(2)).ok());
}

TEST(RoleTest, NamesRoundTrip) {
  for (Role role : {Role::kRead, Role::kReport, Role::kAdmin}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  EXPECT_FALSE(ParseRole("write").has_value());
  EXPECT_FALSE(ParseRole("Read").has_value());
}

}  // namespace
}  // namespace herd
