#include "edge/protocol.h"

#include <gtest/gtest.h>

#include <string>

#include "store/record.h"  // FormatSkew, shared by the edge and the gRPC Report

namespace herd {
namespace {

TEST(ParseCommandTest, IamatFromTheSpec) {
  auto command = ParseCommand("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503");
  ASSERT_TRUE(command.ok()) << command.status();
  const auto& iamat = std::get<IamatCommand>(*command);
  EXPECT_EQ(iamat.client_id, "kiwi.cs.ucla.edu");
  EXPECT_EQ(iamat.location, "+34.068930-118.445127");
  EXPECT_EQ(iamat.client_time, "1621464827.959498503");
  EXPECT_DOUBLE_EQ(iamat.latitude, 34.068930);
  EXPECT_DOUBLE_EQ(iamat.longitude, -118.445127);
}

TEST(ParseCommandTest, WhatsatFromTheSpec) {
  auto command = ParseCommand("WHATSAT kiwi.cs.ucla.edu 10 5");
  ASSERT_TRUE(command.ok()) << command.status();
  const auto& whatsat = std::get<WhatsatCommand>(*command);
  EXPECT_EQ(whatsat.client_id, "kiwi.cs.ucla.edu");
  EXPECT_DOUBLE_EQ(whatsat.radius_km, 10);
  EXPECT_EQ(whatsat.bound, 5);
}

TEST(ParseCommandTest, AnyWhitespaceSeparatesFields) {
  for (const char* line :
       {"IAMAT\tkiwi\t+1.0+2.0\t5", "  IAMAT kiwi +1.0+2.0 5  ", "IAMAT kiwi +1.0+2.0 5\r",
        "IAMAT\fkiwi\v+1.0+2.0 \t\r 5", "\tIAMAT   kiwi  +1.0+2.0    5\t"}) {
    auto command = ParseCommand(line);
    ASSERT_TRUE(command.ok()) << line;
    EXPECT_EQ(std::get<IamatCommand>(*command).client_id, "kiwi");
    EXPECT_EQ(std::get<IamatCommand>(*command).client_time, "5");
  }
}

TEST(ParseCommandTest, WhitespaceOnlyLinesAreBlank) {
  for (const char* line : {"", " ", "\t\r", " \f\v "}) {
    auto command = ParseCommand(line);
    ASSERT_TRUE(command.ok());
    EXPECT_TRUE(std::holds_alternative<BlankLine>(*command));
  }
}

TEST(ParseCommandTest, LocationBoundsAndSigns) {
  for (const char* location : {"+90-180", "-90+180", "+90.000+180.0000", "+0.0+0.0", "-0.5-0.5",
                               "+34-118", "+5.25-007.5"}) {
    EXPECT_TRUE(ParseCommand(std::string("IAMAT c ") + location + " 1").ok()) << location;
  }
  for (const char* location : {"+91+0", "+90.0000001+0", "-90.1+0", "+0+180.0001", "+0-181",
                               "34.0-118.0", "+34.0118.0", "+34.0", "+-1+2", "+1+-2", "+1.+2",
                               "+.5+2", "+1+2+3", "+1e1+2", "+a+2", "+1+2x", "+1000+2"}) {
    EXPECT_FALSE(ParseCommand(std::string("IAMAT c ") + location + " 1").ok()) << location;
  }
}

TEST(ParseCommandTest, MalformedIamat) {
  for (const char* line : {
           "IAMAT Clark +12-118",                                  // missing field
           "IAMAT kiwi +34.068930-118.445127 1621464827.9 extra",  // extra field
           "IAMAT kiwi +34.068930-118.445127 now",                 // non-numeric time
           "IAMAT kiwi +34.068930-118.445127 -5",                  // signed time
           "IAMAT kiwi +34.068930-118.445127 5.",                  // empty fraction
           "IAMAT kiwi +91.0-118.445127 1621464827",               // +91 latitude
           "IAMAT kiwi +34.068930-181.0 1621464827",               // longitude range
           "IAMAT kiwi 34.068930-118.445127 1621464827",           // missing sign
           "iamat kiwi +34.068930-118.445127 1621464827",          // case-sensitive
           "IAMAT",
       }) {
    EXPECT_FALSE(ParseCommand(line).ok()) << line;
  }
  EXPECT_FALSE(ParseCommand("IAMAT " + std::string(257, 'x') + " +1+2 3").ok());
  EXPECT_TRUE(ParseCommand("IAMAT " + std::string(256, 'x') + " +1+2 3").ok());
  // Ids travel to peers and gRPC clients as proto strings: UTF-8 only.
  EXPECT_TRUE(ParseCommand("IAMAT caf\xc3\xa9 +1+2 3").ok());
  EXPECT_FALSE(ParseCommand("IAMAT bad\xff +1+2 3").ok());
  EXPECT_FALSE(ParseCommand("IAMAT bad\xc3 +1+2 3").ok());
  EXPECT_FALSE(ParseCommand("IAMAT bad\xc0\xaf +1+2 3").ok());      // overlong
  EXPECT_FALSE(ParseCommand("IAMAT bad\xed\xa0\x80 +1+2 3").ok());  // surrogate
  EXPECT_FALSE(ParseCommand("WHATSAT bad\xff 10 5").ok());
}

TEST(ParseCommandTest, MalformedWhatsat) {
  for (const char* line : {
           "WHATSAT kiwi 0 5",
           "WHATSAT kiwi 50.5 5",
           "WHATSAT kiwi -1 5",
           "WHATSAT kiwi 10 0",
           "WHATSAT kiwi 10 21",
           "WHATSAT kiwi 10 5.5",
           "WHATSAT kiwi ten 5",
           "WHATSAT kiwi 10",
           "WHATSAT kiwi 10 5 5",
           "WHATSAT kiwi 1e1 5",
           "WHATSAT kiwi 10 -5",
           "WHATSAT kiwi 10 +5",
           "whatsat kiwi 10 5",
           "WHATSAT kiwi . 5",
           "WHATSAT kiwi 0.0 5",
       }) {
    EXPECT_FALSE(ParseCommand(line).ok()) << line;
  }
  for (const char* line : {"WHATSAT kiwi 50 20", "WHATSAT kiwi 0.001 1", "WHATSAT kiwi 50.0 1",
                           "WHATSAT kiwi 10 05"}) {
    EXPECT_TRUE(ParseCommand(line).ok()) << line;
  }
}

TEST(ParseCommandTest, WhatsatBoundMayHaveLeadingZeros) {
  // docs/protocol.md: "leading zeros allowed", however many.
  auto command = ParseCommand("WHATSAT kiwi 50 0000020");
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_EQ(std::get<WhatsatCommand>(*command).bound, 20);
  EXPECT_EQ(std::get<WhatsatCommand>(*ParseCommand("WHATSAT kiwi 5 000000000000001")).bound, 1);
  for (const char* line : {"WHATSAT kiwi 50 0000021", "WHATSAT kiwi 50 0000000",
                           "WHATSAT kiwi 50 00000100", "WHATSAT kiwi 50 99999999999999999999"}) {
    EXPECT_FALSE(ParseCommand(line).ok()) << line;
  }
}

TEST(ParseCommandTest, ControlBytesInClientIdsAreInvalid) {
  using namespace std::string_literals;
  for (const std::string& id : {"a\0b"s, "a\x1b[2Jb"s, "a\x7f"s, "a\x01"s, "\x1f"s}) {
    EXPECT_FALSE(ParseCommand("IAMAT " + id + " +1+2 3").ok()) << id;
    EXPECT_FALSE(ParseCommand("WHATSAT " + id + " 10 5").ok()) << id;
    EXPECT_FALSE(IsValidClientId(id)) << id;
  }
  EXPECT_TRUE(IsValidClientId("kiwi.cs.ucla.edu"));
  EXPECT_TRUE(IsValidClientId("caf\xc3\xa9~!"));
}

TEST(ParseCommandTest, UnknownCommands) {
  for (const char* line : {"HELLO", "AT Riley +0.1 kiwi +1+2 3", "IAMATX kiwi +1+2 3"}) {
    EXPECT_FALSE(ParseCommand(line).ok()) << line;
  }
}

TEST(FormatSkewTest, ExactNanoseconds) {
  // Receive time 1621464828.223371889 minus 1621464827.959498503.
  EXPECT_EQ(FormatSkew(1621464828'223371889, "1621464827.959498503"), "+0.263873386");
  EXPECT_EQ(FormatSkew(1621464827'959498503, "1621464827.959498503"), "+0.000000000");
  EXPECT_EQ(FormatSkew(1621464827'000000000, "1621464828.5"), "-1.500000000");
  EXPECT_EQ(FormatSkew(1621464827'000000000, "1621464827"), "+0.000000000");
  // Digits past the ninth do not move the nanoseconds.
  EXPECT_EQ(FormatSkew(1'000000001, "1.0000000009999"), "+0.000000001");
  // A client far in the future still formats (no overflow).
  EXPECT_EQ(FormatSkew(0, "9999999999999999999.5"), "-9999999999999999999.500000000");
  EXPECT_EQ(FormatSkew(INT64_MAX, "0"), "+9223372036.854775807");
  // Borrows between seconds and nanoseconds, both signs.
  EXPECT_EQ(FormatSkew(1'500000000, "2"), "-0.500000000");
  EXPECT_EQ(FormatSkew(1'000000000, "2"), "-1.000000000");
  EXPECT_EQ(FormatSkew(2'000000000, "1.999999999"), "+0.000000001");
  EXPECT_EQ(FormatSkew(1'999999999, "2.000000000"), "-0.000000001");
  // A receive time before 1970 (an injected clock).
  EXPECT_EQ(FormatSkew(-1, "0"), "-0.000000001");
  EXPECT_EQ(FormatSkew(-1'500000000, "1.25"), "-2.750000000");
}

TEST(FormatTest, InvalidEchoesTheLine) {
  EXPECT_EQ(FormatInvalid("IAMAT Clark +12-118"), "? IAMAT Clark +12-118\n");
}

TEST(FormatTest, WhatsatFraming) {
  EXPECT_EQ(FormatWhatsat("AT x", "{\n\n   \"a\": 1\n}\n\n\n"), "AT x\n{\n   \"a\": 1\n}\n\n");
  EXPECT_EQ(FormatWhatsat("AT x", "{}"), "AT x\n{}\n\n");
}

}  // namespace
}  // namespace herd
