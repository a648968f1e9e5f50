#include "edge/line_framer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herd {
namespace {

// Every event for `input` fed in chunks of `chunk` bytes, as "L:text" or
// "T:text", then "E:last" for what end of input leaves.
std::vector<std::string> Frame(const std::string& input, size_t chunk, size_t max) {
  LineFramer framer(max);
  std::vector<std::string> out;
  for (size_t pos = 0; pos < input.size(); pos += chunk) {
    framer.Feed(std::string_view(input).substr(pos, chunk));
    for (;;) {
      const LineFramer::Event event = framer.Next();
      if (event.kind == LineFramer::Event::kNeedMore) break;
      out.push_back((event.kind == LineFramer::Event::kLine ? "L:" : "T:") +
                    std::string(event.text));
    }
  }
  if (const std::string_view last = framer.TakeLast(); !last.empty()) {
    out.push_back("E:" + std::string(last));
  }
  return out;
}

TEST(LineFramerTest, SameLinesWhateverTheSplit) {
  const std::string input = "IAMAT a +1+2 3\r\nWHATSAT a 10 5\n\n\r\nx\ry\nlast";
  const std::vector<std::string> expected = {
      "L:IAMAT a +1+2 3\r", "L:WHATSAT a 10 5", "L:", "L:\r", "L:x\ry", "E:last"};
  for (size_t chunk = 1; chunk <= input.size(); ++chunk) {
    EXPECT_EQ(Frame(input, chunk, 100), expected) << chunk;
  }
}

TEST(LineFramerTest, OverLongLinesComeOutOnceCutAndTheRestIsDropped) {
  const std::string input = std::string(25, 'a') + "\nok\n" + std::string(30, 'b');
  for (size_t chunk = 1; chunk <= input.size(); ++chunk) {
    EXPECT_EQ(Frame(input, chunk, 10),
              (std::vector<std::string>{"T:" + std::string(10, 'a'), "L:ok",
                                        "T:" + std::string(10, 'b')}))
        << chunk;
  }
  EXPECT_EQ(Frame(std::string(10, 'c') + "\n", 3, 10),
            (std::vector<std::string>{"L:" + std::string(10, 'c')}));
}

TEST(LineFramerTest, PendingAndLineStarted) {
  LineFramer framer(100);
  framer.Feed("IAM");
  EXPECT_EQ(framer.Next().kind, LineFramer::Event::kNeedMore);
  EXPECT_TRUE(framer.pending());
  EXPECT_TRUE(framer.TakeLineStarted());
  EXPECT_FALSE(framer.TakeLineStarted());
  framer.Feed("AT\n");
  EXPECT_EQ(framer.Next().text, "IAMAT");
  EXPECT_EQ(framer.Next().kind, LineFramer::Event::kNeedMore);
  EXPECT_FALSE(framer.pending());
  EXPECT_FALSE(framer.TakeLineStarted());
}

}  // namespace
}  // namespace herd
