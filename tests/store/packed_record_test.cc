#include "store/packed_record.h"

#include <gtest/gtest.h>

#include <malloc.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace herd {
namespace {

Record Typical() {
  return Record{"kiwi.cs.ucla.edu", "Riley", "+0.263873386", "+34.068930-118.445127",
                "1621464827.959498503"};
}

TEST(PackedRecordTest, RoundTripsEveryField) {
  const Record record = Typical();
  const PackedRecord::Ptr packed = PackedRecord::Make(record.view(), 7, 42);
  EXPECT_EQ(packed->ToRecord(), record);
  EXPECT_EQ(packed->client_id(), "kiwi.cs.ucla.edu");
  EXPECT_EQ(packed->origin(), "Riley");
  EXPECT_EQ(packed->source(), 7u);
  EXPECT_EQ(packed->seq(), 42u);
  PackedRecord::Scratch scratch;
  const RecordView view = packed->View(&scratch);
  EXPECT_EQ(view.skew, "+0.263873386");
  EXPECT_EQ(view.location, "+34.068930-118.445127");
  EXPECT_EQ(view.client_time, "1621464827.959498503");
}

TEST(PackedRecordTest, NumericFieldsTakeHalfTheirLength) {
  const Record record = Typical();
  const PackedRecord::Ptr packed = PackedRecord::Make(record.view(), 0, 1);
  // 16 + 5 bytes raw, then 12, 21 and 20 characters in 6, 11 and 10 bytes,
  // after a header of at most 24 bytes.
  EXPECT_LE(malloc_usable_size(packed.get()), 24u + 21 + 27 + 8);
}

TEST(PackedRecordTest, OddEvenAndEmptyLengths) {
  for (const std::string time : {"1", "12", "123.5", "0.000000001", ""}) {
    const Record record{"c", "", "-1.5", "+1-2", time};
    EXPECT_EQ(PackedRecord::Make(record.view(), 0, 1)->ToRecord(), record) << time;
  }
}

TEST(PackedRecordTest, KeepsTextOutsideTheDigitAlphabetAsIs) {
  // Never accepted by the edge or peers, but the store must not garble it.
  const Record record{"id", "Riley", "+0.5e3", "+1.0+2.0 ", "12:30"};
  EXPECT_EQ(PackedRecord::Make(record.view(), 0, 1)->ToRecord(), record);
}

TEST(PackedRecordTest, LongestFields) {
  const Record record{std::string(kMaxClientIdBytes, 'x'), std::string(255, 'O'),
                      "+" + std::string(254, '9'),
                      "+" + std::string(kMaxNumberBytes / 2 - 1, '1') + "-" +
                          std::string(kMaxNumberBytes / 2 - 1, '2'),
                      std::string(kMaxNumberBytes - 2, '3') + ".4"};
  EXPECT_EQ(PackedRecord::Make(record.view(), 0, 1)->ToRecord(), record);
}

TEST(PackedRecordTest, AFieldTooLongForItsSizeIsRefusedNotCut) {
  // One byte past each header field (or the Scratch) that holds its size:
  // cut silently, the store would keep another record than it was given.
  const Record fits = Typical();
  std::vector<Record> too_long(5, fits);
  too_long[0].client_id = std::string(65536, 'x');
  too_long[1].origin = std::string(256, 'O');
  too_long[2].skew = "+" + std::string(255, '9');
  too_long[3].location = "+1-" + std::string(kMaxNumberBytes - 2, '2');
  too_long[4].client_time = std::string(kMaxNumberBytes + 1, '3');
  EXPECT_TRUE(PackedRecord::Fits(fits.view()));
  for (const Record& record : too_long) {
    EXPECT_FALSE(PackedRecord::Fits(record.view()));
    EXPECT_THROW(PackedRecord::Make(record.view(), 0, 1), std::length_error);
    PackedRecord::Ptr packed = PackedRecord::Make(fits.view(), 0, 1);
    EXPECT_THROW(PackedRecord::Assign(record.view(), 0, 2, &packed), std::length_error);
    EXPECT_EQ(packed->ToRecord(), fits);  // left as it was
    EXPECT_EQ(packed->seq(), 1u);
  }
}

TEST(PackedRecordTest, ANewVersionReusesTheOldBlockWhenItFits) {
  Record record = Typical();
  PackedRecord::Ptr packed = PackedRecord::Make(record.view(), 0, 1);
  const PackedRecord* block = packed.get();
  record.client_time = "1621464827.959498504";
  PackedRecord::Assign(record.view(), 3, 2, &packed);
  EXPECT_EQ(packed.get(), block);
  EXPECT_EQ(packed->ToRecord(), record);
  EXPECT_EQ(packed->seq(), 2u);
  EXPECT_EQ(packed->source(), 3u);
  record.location = "+34.068930000000000000000000000000000-118.445127";  // does not fit
  PackedRecord::Assign(record.view(), 0, 3, &packed);
  EXPECT_EQ(packed->ToRecord(), record);
}

TEST(PackedRecordTest, AFieldThatDoesNotPackIsLaidOutAgainAsText) {
  const Record digits = Typical();
  const Record text{"kiwi.cs.ucla.edu", "Riley", "+0.263873386", "+34.068930-118.445127",
                    "1621464827.959498503 "};  // a trailing space: never accepted, kept as is
  PackedRecord::Ptr packed = PackedRecord::Make(digits.view(), 0, 1);
  PackedRecord::Assign(text.view(), 0, 2, &packed);
  EXPECT_EQ(packed->ToRecord(), text);
  PackedRecord::Assign(digits.view(), 0, 3, &packed);
  EXPECT_EQ(packed->ToRecord(), digits);
}

TEST(PackedRecordTest, ARecordTooBigToStageIsBuiltInPlace) {
  const Record big{std::string(10'000, 'k'), "Riley", "+0.5", "+1+2", "3"};
  PackedRecord::Ptr packed = PackedRecord::Make(Typical().view(), 0, 1);
  PackedRecord::Assign(big.view(), 0, 2, &packed);
  EXPECT_EQ(packed->ToRecord(), big);
  EXPECT_EQ(packed->seq(), 2u);
}

TEST(PackedRecordTest, AssignTellsWhetherTheLocationChanged) {
  Record record = Typical();
  PackedRecord::Ptr packed;
  bool changed = false;
  PackedRecord::Assign(record.view(), 0, 1, &packed, &changed);
  EXPECT_TRUE(changed);  // nothing before
  record.client_time = "1621464828";
  PackedRecord::Assign(record.view(), 0, 2, &packed, &changed);
  EXPECT_FALSE(changed);
  record.location = "+34.068930-118.445128";  // one digit
  PackedRecord::Assign(record.view(), 0, 3, &packed, &changed);
  EXPECT_TRUE(changed);
  record.location = "+34.06893-118.445128";  // odd length, then the same again
  PackedRecord::Assign(record.view(), 0, 4, &packed, &changed);
  EXPECT_TRUE(changed);
  PackedRecord::Assign(record.view(), 0, 5, &packed, &changed);
  EXPECT_FALSE(changed);
  record.location = "+34.06893-118.44512";  // a prefix of it
  PackedRecord::Assign(record.view(), 0, 6, &packed, &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(packed->ToRecord(), record);
}

TEST(PackedRecordTest, SupersedesComparesTheUnpackedFields) {
  const Record stored = Typical();
  const PackedRecord::Ptr packed = PackedRecord::Make(stored.view(), 0, 1);
  Record newer = stored;
  newer.client_time = "1621464827.959498504";
  Record older = stored;
  older.client_time = "1621464827.9594985";
  EXPECT_TRUE(Supersedes(newer.view(), *packed));
  EXPECT_FALSE(Supersedes(older.view(), *packed));
  EXPECT_FALSE(Supersedes(stored.view(), *packed));
}

}  // namespace
}  // namespace herd
