#include "fences/glob.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace herd {
namespace {

Glob MustParse(std::string_view pattern) {
  absl::StatusOr<Glob> glob = Glob::Parse(pattern, "p");
  EXPECT_TRUE(glob.ok()) << glob.status();
  return glob.ok() ? *glob : Glob();
}

// The definition, by recursion: the oracle for the iterative matcher.
bool Oracle(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (size_t skip = 0; skip <= text.size(); ++skip) {
      if (Oracle(pattern.substr(1), text.substr(skip))) return true;
    }
    return false;
  }
  return !text.empty() && (pattern[0] == '?' || pattern[0] == text[0]) &&
         Oracle(pattern.substr(1), text.substr(1));
}

TEST(GlobTest, EmptyAndStarMatchEverything) {
  EXPECT_TRUE(MustParse("").Matches("anything"));
  EXPECT_TRUE(MustParse("").Matches(""));
  EXPECT_TRUE(MustParse("**").Matches("x"));
  EXPECT_TRUE(MustParse("*").matches_everything());
  EXPECT_FALSE(MustParse("a*").matches_everything());
}

TEST(GlobTest, StarAndQuestionMark) {
  const Glob glob = MustParse("truck-??.*.ucla.edu");
  EXPECT_TRUE(glob.Matches("truck-07.kiwi.ucla.edu"));
  EXPECT_TRUE(glob.Matches("truck-07..ucla.edu"));
  EXPECT_FALSE(glob.Matches("truck-7.kiwi.ucla.edu"));
  EXPECT_FALSE(glob.Matches("truck-07.kiwi.ucla.edux"));
  EXPECT_FALSE(glob.Matches("xtruck-07.kiwi.ucla.edu"));
  EXPECT_TRUE(MustParse("a*b*c").Matches("aXbYbZc"));
  EXPECT_FALSE(MustParse("a*b*c").Matches("aXbYbZ"));
  EXPECT_TRUE(MustParse("exact").Matches("exact"));
  EXPECT_FALSE(MustParse("exact").Matches("exac"));
}

TEST(GlobTest, AgreesWithTheRecursiveDefinition) {
  std::mt19937 random(7);
  const std::string alphabet = "ab*?";
  auto make = [&](size_t max, std::string_view letters) {
    std::string s(std::uniform_int_distribution<size_t>(0, max)(random), ' ');
    for (char& c : s)
      c = letters[std::uniform_int_distribution<size_t>(0, letters.size() - 1)(random)];
    return s;
  };
  for (int i = 0; i < 20000; ++i) {
    const std::string pattern = make(6, alphabet);
    if (pattern.empty()) continue;  // means "every client", not the empty id
    const std::string text = make(8, "ab");
    EXPECT_EQ(MustParse(pattern).Matches(text), Oracle(pattern, text))
        << "pattern " << pattern << " text " << text;
  }
}

TEST(GlobTest, RejectsLongOrWhitespacePatterns) {
  EXPECT_TRUE(Glob::Parse(std::string(256, 'a'), "p").ok());
  absl::StatusOr<Glob> long_glob = Glob::Parse(std::string(257, 'a'), "fence.client_pattern");
  ASSERT_FALSE(long_glob.ok());
  EXPECT_EQ(long_glob.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(long_glob.status().message().find("fence.client_pattern: "), 0u);
  EXPECT_FALSE(Glob::Parse("a b", "p").ok());
  EXPECT_FALSE(Glob::Parse(std::string("a\0b", 3), "p").ok());
}

}  // namespace
}  // namespace herd
