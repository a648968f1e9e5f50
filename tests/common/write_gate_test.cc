#include "common/write_gate.h"

#include <string>

#include <gtest/gtest.h>

namespace herd {
namespace {

using Gate = WriteGate<std::string>;

TEST(WriteGateTest, OneWriteAtATime) {
  Gate gate;
  EXPECT_TRUE(gate.BeginWrite());
  EXPECT_FALSE(gate.BeginWrite());  // one in flight
  EXPECT_EQ(gate.WriteDone(), std::nullopt);
  EXPECT_TRUE(gate.BeginWrite());
}

TEST(WriteGateTest, EndingWhileIdleFinishesAtOnceAndOnlyOnce) {
  Gate gate;
  EXPECT_EQ(gate.End("bye"), "bye");
  EXPECT_EQ(gate.End("again"), std::nullopt);
  EXPECT_FALSE(gate.BeginWrite());  // no write after the end
  EXPECT_TRUE(gate.ending());
}

TEST(WriteGateTest, EndingDuringAWriteFinishesWhenItCompletes) {
  Gate gate;
  ASSERT_TRUE(gate.BeginWrite());
  EXPECT_EQ(gate.End("first"), std::nullopt);   // the write is in flight
  EXPECT_EQ(gate.End("second"), std::nullopt);  // the first status wins
  EXPECT_EQ(gate.WriteDone(), "first");
  EXPECT_EQ(gate.WriteDone(), std::nullopt);  // finished once
  EXPECT_FALSE(gate.BeginWrite());
}

TEST(WriteGateTest, AWriteCompletingWithoutAnEndFinishesNothing) {
  Gate gate;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(gate.BeginWrite());
    EXPECT_TRUE(gate.writing());
    EXPECT_EQ(gate.WriteDone(), std::nullopt);
    EXPECT_FALSE(gate.writing());
  }
  EXPECT_FALSE(gate.ending());
}

}  // namespace
}  // namespace herd
