// The protocol's field rules (common/limits.h): each bound on both sides,
// and the reasons the gRPC API shows with the field's name.

#include "common/limits.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace herd {
namespace {

std::string Why(const absl::Status& status) { return std::string(status.message()); }

TEST(LimitsTest, RadiusIsAboveZeroAndAtMostFiftyKm) {
  EXPECT_TRUE(IsValidRadiusKm(50));
  EXPECT_TRUE(IsValidRadiusKm(0.001));
  EXPECT_FALSE(IsValidRadiusKm(0));
  EXPECT_FALSE(IsValidRadiusKm(50.001));
  EXPECT_FALSE(IsValidRadiusKm(std::nan("")));
  EXPECT_TRUE(ValidateRadiusKm(50).ok());
  EXPECT_EQ(Why(ValidateRadiusKm(60)), "must be in (0, 50] km, got 60");
}

TEST(LimitsTest, ResultCountIsOneToTwenty) {
  EXPECT_TRUE(IsValidResultCount(1));
  EXPECT_TRUE(IsValidResultCount(20));
  EXPECT_FALSE(IsValidResultCount(0));
  EXPECT_FALSE(IsValidResultCount(21));
  EXPECT_EQ(Why(ValidateResultCount(21)), "must be in [1, 20], got 21");
}

TEST(LimitsTest, CoordinatesAreWithinTheirRanges) {
  EXPECT_TRUE(IsValidLatitude(-90) && IsValidLatitude(90));
  EXPECT_FALSE(IsValidLatitude(90.000001) || IsValidLatitude(std::nan("")));
  EXPECT_TRUE(IsValidLongitude(-180) && IsValidLongitude(180));
  EXPECT_FALSE(IsValidLongitude(-180.000001) || IsValidLongitude(std::nan("")));
  EXPECT_EQ(Why(ValidateLatitude(91)), "must be in [-90, 90] degrees, got 91");
  EXPECT_EQ(Why(ValidateLongitude(181)), "must be in [-180, 180] degrees, got 181");
}

TEST(LimitsTest, ClientIdsAreShortUtf8WithoutWhitespaceOrControlBytes) {
  EXPECT_TRUE(IsValidClientId("kiwi.cs.ucla.edu"));
  EXPECT_TRUE(IsValidClientId(std::string(kMaxClientIdBytes, 'x')));
  EXPECT_TRUE(IsValidClientId("caf\xc3\xa9"));
  EXPECT_TRUE(ValidateClientId("kiwi").ok());
  EXPECT_EQ(Why(ValidateClientId("")), "required");
  EXPECT_EQ(Why(ValidateClientId(std::string(kMaxClientIdBytes + 1, 'x'))),
            "longer than 256 bytes (257)");
  EXPECT_EQ(Why(ValidateClientId("a b")), "contains whitespace");
  EXPECT_EQ(Why(ValidateClientId("a\x7f")), "contains a control byte (0x00-0x1F, 0x7F)");
  // What IsValidUtf8 refuses: a lone continuation byte, an overlong form, a
  // surrogate, a truncated sequence.
  for (const char* id : {"a\x80", "\xc0\xaf", "\xed\xa0\x80", "caf\xc3"}) {
    EXPECT_FALSE(IsValidClientId(id)) << id;
    EXPECT_EQ(Why(ValidateClientId(id)), "is not valid UTF-8") << id;
  }
}

TEST(LimitsTest, NameFieldPutsTheFieldFirstAndKeepsOk) {
  EXPECT_TRUE(NameField("radius_km", absl::OkStatus()).ok());
  const absl::Status named = NameField("radius_km", ValidateRadiusKm(0));
  EXPECT_EQ(named.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Why(named), "radius_km: must be in (0, 50] km, got 0");
}

}  // namespace
}  // namespace herd
