#include "store/record.h"

#include <gtest/gtest.h>

namespace herd {
namespace {

Record At(std::string time, std::string origin = "Riley",
          std::string location = "+34.068930-118.445127", std::string skew = "+0.1") {
  return Record{"kiwi.cs.ucla.edu", std::move(origin), std::move(skew), std::move(location),
                std::move(time)};
}

TEST(CompareClientTimeTest, ExactDecimalOrder) {
  EXPECT_LT(CompareClientTime("1621464827.959498503", "1621464827.959498504"), 0);
  EXPECT_GT(CompareClientTime("1621464827.959498504", "1621464827.959498503"), 0);
  // Digits beyond a double's precision still count.
  EXPECT_LT(CompareClientTime("1621464827.9594985030000001", "1621464827.9594985030000002"), 0);
  EXPECT_LT(CompareClientTime("9", "10"), 0);
  EXPECT_LT(CompareClientTime("99.999", "100"), 0);
  EXPECT_GT(CompareClientTime("1.5", "1.49999"), 0);
}

TEST(CompareClientTimeTest, EqualValuesWrittenDifferently) {
  EXPECT_EQ(CompareClientTime("1621464827", "1621464827.000"), 0);
  EXPECT_EQ(CompareClientTime("0001.50", "1.5"), 0);
  EXPECT_EQ(CompareClientTime("0", "0.0"), 0);
}

TEST(SupersedesTest, NewerTimeWins) {
  EXPECT_TRUE(Supersedes(At("1621464827.959498504"), At("1621464827.959498503")));
  EXPECT_FALSE(Supersedes(At("1621464827.959498503"), At("1621464827.959498504")));
}

TEST(SupersedesTest, IdenticalRecordIsNotNewer) { EXPECT_FALSE(Supersedes(At("5"), At("5"))); }

TEST(SupersedesTest, EqualTimesTieBreakIsATotalOrder) {
  const Record riley = At("5", "Riley");
  const Record bernard = At("5", "Bernard");
  // Exactly one of the two wins, whichever arrives first.
  EXPECT_NE(Supersedes(riley, bernard), Supersedes(bernard, riley));
  EXPECT_TRUE(Supersedes(riley, bernard));
  const Record north = At("5", "Riley", "+35.0-118.0");
  const Record south = At("5", "Riley", "+33.0-118.0");
  EXPECT_NE(Supersedes(north, south), Supersedes(south, north));
}

TEST(SupersedesTest, EqualValuesWrittenDifferentlyAreOrderedByTheirBytes) {
  // SPEC section 8: "5.5" and "5.50" from one server at one place with one
  // time difference: only their bytes separate them, and they must.
  const Record short_form = At("5.5", "Riley", "+34.0-118.0", "+0.250000000");
  const Record long_form = At("5.50", "Riley", "+34.0-118.0", "+0.250000000");
  EXPECT_TRUE(Supersedes(long_form, short_form));
  EXPECT_FALSE(Supersedes(short_form, long_form));
  // And the same for a time difference written with leading zeros.
  const Record padded = At("5.5", "Riley", "+34.0-118.0", "+00.250000000");
  EXPECT_NE(Supersedes(padded, short_form), Supersedes(short_form, padded));
}

TEST(IsTooFarAheadTest, ComparesToTheNanosecond) {
  constexpr int64_t kNow = 1'700'000'000'000'000'000;  // 1700000000 s
  EXPECT_FALSE(IsTooFarAhead(kNow, "1700000000", 0));
  EXPECT_FALSE(IsTooFarAhead(kNow, "1700086400", 86400));
  EXPECT_FALSE(IsTooFarAhead(kNow, "1700086400.000000000999", 86400));  // past the 9th digit
  EXPECT_TRUE(IsTooFarAhead(kNow, "1700086400.000000001", 86400));
  EXPECT_TRUE(IsTooFarAhead(kNow, "1700000001", 0));
  EXPECT_FALSE(IsTooFarAhead(kNow, "0", 1));
  EXPECT_FALSE(IsTooFarAhead(kNow, "1621464827.959498503", 86400));  // the past
  EXPECT_TRUE(IsTooFarAhead(kNow, "9999999999999999999.999999999", 86400));
  // A bound as large as a 64-bit number of seconds does not overflow.
  EXPECT_FALSE(IsTooFarAhead(kNow, "9000000000000000000", INT64_MAX));
}

TEST(OriginSawTooFarAheadTest, ReadsTheTimeDifference) {
  EXPECT_FALSE(OriginSawTooFarAhead("+0.263873386", 86400));
  EXPECT_FALSE(OriginSawTooFarAhead("-86400.000000000", 86400));
  EXPECT_TRUE(OriginSawTooFarAhead("-86400.000000001", 86400));
  EXPECT_TRUE(OriginSawTooFarAhead("-5000.000000000", 3600));
  EXPECT_FALSE(OriginSawTooFarAhead("+5000.000000000", 3600));
}

TEST(SupersedesTest, ResendToTheSameServerChangesNothing) {
  const Record first = At("5", "Riley", "+34.0-118.0", "+0.250000000");
  const Record resend = At("5", "Riley", "+34.0-118.0", "+3.000000000");
  EXPECT_FALSE(Supersedes(resend, first));
  EXPECT_TRUE(Supersedes(first, resend));
}

TEST(CompareSkewTest, SignedNumericOrder) {
  EXPECT_LT(CompareSkew("-1.000000000", "+0.500000000"), 0);
  EXPECT_LT(CompareSkew("-2.000000000", "-1.000000000"), 0);
  EXPECT_GT(CompareSkew("+10.000000000", "+9.000000000"), 0);
  EXPECT_EQ(CompareSkew("-0.000000000", "+0.000000000"), 0);
}

TEST(IsWellFormedClientTimeTest, AcceptsAndRejects) {
  EXPECT_TRUE(IsWellFormedClientTime("1621464827.959498503"));
  EXPECT_TRUE(IsWellFormedClientTime("1621464827"));
  EXPECT_TRUE(IsWellFormedClientTime("0"));
  for (const char* bad : {"", ".", "1.", ".5", "-1", "+1", "1e9", "12a", "1.2.3",
                          "12345678901234567890" /* 20 digits */, " 1"}) {
    EXPECT_FALSE(IsWellFormedClientTime(bad)) << bad;
  }
}

TEST(IsWellFormedClientTimeTest, LongFractionsUpToTheBound) {
  EXPECT_TRUE(IsWellFormedClientTime("1." + std::string(kMaxNumberBytes - 2, '5')));
  EXPECT_FALSE(IsWellFormedClientTime("1." + std::string(kMaxNumberBytes - 1, '5')));
  double lat, lng;
  EXPECT_TRUE(
      ParseLocation("+1." + std::string(500, '0') + "+2." + std::string(500, '0'), &lat, &lng));
  EXPECT_FALSE(
      ParseLocation("+1." + std::string(600, '0') + "+2." + std::string(600, '0'), &lat, &lng));
}

TEST(IsWellFormedRecordTest, ChecksEveryField) {
  const Record good{"kiwi", "Riley", "+0.263873386", "+34.068930-118.445127", "1621464827.5"};
  EXPECT_TRUE(IsWellFormedRecord(good));
  for (auto broken : {&Record::client_id, &Record::origin, &Record::skew, &Record::location,
                      &Record::client_time}) {
    Record bad = good;
    bad.*broken = "bad value";
    EXPECT_FALSE(IsWellFormedRecord(bad));
  }
  Record bad_skew = good;
  bad_skew.skew = "+0.26387338";  // eight digits
  EXPECT_FALSE(IsWellFormedRecord(bad_skew));
}

TEST(RecordTest, AtLine) {
  Record record{"kiwi.cs.ucla.edu", "Riley", "+0.263873386", "+34.068930-118.445127",
                "1621464827.959498503"};
  EXPECT_EQ(record.AtLine(),
            "AT Riley +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 "
            "1621464827.959498503");
}

}  // namespace
}  // namespace herd
