#include "common/server_log.h"

#include "common/escape.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace herd {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

class ServerLogTest : public ::testing::Test {
 protected:
  std::string dir_ = [] {
    char pattern[] = "/tmp/herd-log-test-XXXXXX";
    return std::string(mkdtemp(pattern));
  }();
  ~ServerLogTest() override { std::filesystem::remove_all(dir_); }
};

TEST_F(ServerLogTest, LinesReachTheFileWithTimestampAndLevel) {
  auto log = ServerLog::Open(dir_ + "/sub/Riley.log", {});
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->Info("c{} < {}", 7, "IAMAT kiwi +1+2 3");
  (*log)->Warn("peer {}: dropped", "Jaquez");
  (*log)->Flush();
  const std::string text = ReadFile(dir_ + "/sub/Riley.log");
  EXPECT_TRUE(std::regex_search(
      text, std::regex("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z I c7 < IAMAT kiwi "
                       "\\+1\\+2 3\\n")))
      << text;
  EXPECT_NE(text.find("Z W peer Jaquez: dropped\n"), std::string::npos) << text;
}

TEST_F(ServerLogTest, PiecesMakeOneLineAsIs) {
  auto log = ServerLog::Open(dir_ + "/Riley.log", {});
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->InfoPieces({"c7 ", "> ", "AT Riley {} 100%", ""});
  (*log)->InfoLines({{"c7 ", "< ", "IAMAT x"}, {"c7 ", "> ", "AT y"}});
  (*log)->Info("after");
  (*log)->Flush();
  const std::string text = ReadFile(dir_ + "/Riley.log");
  EXPECT_TRUE(std::regex_search(
      text, std::regex("\\.\\d{6}Z I c7 > AT Riley \\{\\} 100%\\n"
                       ".*(\\.\\d{6})Z I c7 < IAMAT x\\n.*\\1Z I c7 > AT y\\n.*Z I after\\n")))
      << text;
}

TEST_F(ServerLogTest, OneThreadsLinesStayInOrder) {
  auto log = ServerLog::Open(dir_ + "/Riley.log", {});
  ASSERT_TRUE(log.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) (*log)->Info("t{} {}", t, i);
    });
  }
  for (auto& thread : threads) thread.join();
  (*log)->Flush();
  std::istringstream lines(ReadFile(dir_ + "/Riley.log"));
  std::vector<int> last(4, -1);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    int t, i;
    ASSERT_EQ(std::sscanf(line.c_str() + line.find(" I t") + 4, "%d %d", &t, &i), 2) << line;
    EXPECT_EQ(i, last[t] + 1);
    last[t] = i;
    ++count;
  }
  EXPECT_EQ(count, 4000);
}

TEST_F(ServerLogTest, RotatesAndKeepsABoundedNumberOfFiles) {
  ServerLog::Options options;
  options.max_file_bytes = 4096;
  options.max_files = 2;
  auto log = ServerLog::Open(dir_ + "/Riley.log", options);
  ASSERT_TRUE(log.ok());
  const std::string filler(100, 'x');
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 30; ++i) (*log)->Info("{} {}", round, filler);
    (*log)->Flush();
  }
  (*log)->Flush();
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/Riley.log"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/Riley.log.1"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/Riley.log.2"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/Riley.log.3"));
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_LE(entry.file_size(), 4096u + 30 * 140) << entry.path();
  }
}

TEST_F(ServerLogTest, AFullBufferDropsAndCountsInsteadOfGrowing) {
  ServerLog::Options options;
  options.max_buffer_bytes = 1024;
  auto log = ServerLog::Open(dir_ + "/Riley.log", options);
  ASSERT_TRUE(log.ok());
  // Faster than any writer: 10,000 lines into a 1 KiB buffer between drains.
  for (int i = 0; i < 10'000; ++i) (*log)->Info("line {}", i);
  (*log)->Flush();
  const std::string text = ReadFile(dir_ + "/Riley.log");
  EXPECT_LT(text.size(), 10'000u * 30);
  EXPECT_TRUE(std::regex_search(text, std::regex("[0-9]+ lines dropped"))) << text.size();
}

TEST_F(ServerLogTest, ControlBytesAreEscapedSoALineCannotFakeAnother) {
  auto log = ServerLog::Open(dir_ + "/Riley.log", {});
  ASSERT_TRUE(log.ok());
  const std::string evil("? IAMAT a\r\n2026-11-25T19:40:01.123456Z I peer Jaquez up\x1b[2J\0\x7f\t",
                         62);
  (*log)->InfoPieces({"c1 > ", evil});
  (*log)->Info("c1 < {}", evil);
  (*log)->Flush();
  const std::string text = ReadFile(dir_ + "/Riley.log");
  const std::string escaped =
      "? IAMAT a\\r\\n2026-11-25T19:40:01.123456Z I peer Jaquez up\\e[2J\\0\\x7f\\t";
  EXPECT_NE(text.find("I c1 > " + escaped + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("I c1 < " + escaped + "\n"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  for (char c : text) {
    EXPECT_TRUE(c == '\n' || !(static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) << int(c);
  }
}

// A disk that fills up (writes succeed in part, then fail with ENOSPC) and
// is then freed: the file bound holds, no line is glued to a cut one, and
// the lost lines are counted and reported.
TEST_F(ServerLogTest, AFullDiskKeepsTheBoundAndReportsLostLines) {
  std::atomic<int64_t> disk_free{100'000};
  ServerLog::Options options;
  options.max_file_bytes = 400'000;
  options.max_files = 2;
  options.write = [&disk_free](int fd, const char* data, size_t size) -> ssize_t {
    const int64_t free = disk_free.load();
    if (free <= 0) {
      errno = ENOSPC;
      return -1;
    }
    const ssize_t n = write(fd, data, std::min<size_t>(size, static_cast<size_t>(free)));
    if (n > 0) disk_free -= n;
    return n;
  };
  auto log = ServerLog::Open(dir_ + "/Riley.log", options);
  ASSERT_TRUE(log.ok());
  const std::string filler(100, 'x');
  for (int i = 0; i < 3000; ++i) (*log)->Info("full {} {}", i, filler);
  (*log)->Flush();
  EXPECT_GT((*log)->lost_lines(), 2000u);
  disk_free = int64_t{1} << 40;  // space freed
  for (int round = 0; round < 30; ++round) {
    for (int i = 0; i < 100; ++i) (*log)->Info("freed {} {} {}", round, i, filler);
    (*log)->Flush();
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_LE(entry.file_size(), 400'000u) << entry.path();
  }
  std::string text = ReadFile(dir_ + "/Riley.log.1") + ReadFile(dir_ + "/Riley.log");
  EXPECT_TRUE(std::regex_search(
      text, std::regex("[0-9]+ lines lost: the log file could not take them \\(No space left")))
      << text.substr(0, 300);
  std::istringstream lines(text);
  std::string line;
  int freed = 0;
  while (std::getline(lines, line)) {
    if (line.find(" freed ") != std::string::npos) {
      ++freed;
      // Whole, and not glued to a line cut short by the full disk.
      EXPECT_TRUE(std::regex_match(
          line, std::regex("\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z I freed \\d+ \\d+ x{100}")))
          << line.substr(0, 200);
    }
  }
  EXPECT_EQ(freed, 3000);  // nothing lost once there is space
}

TEST_F(ServerLogTest, ABatchLargerThanAFileIsSplitAcrossFiles) {
  ServerLog::Options options;
  options.max_file_bytes = 10'000;
  options.max_files = 100;
  auto log = ServerLog::Open(dir_ + "/Riley.log", options);
  ASSERT_TRUE(log.ok());
  const std::string filler(100, 'y');
  for (int i = 0; i < 1000; ++i) (*log)->Info("{} {}", i, filler);  // ~130 KB, one drain
  (*log)->InfoPieces({std::string(20'000, 'z')});                   // one line > a file
  (*log)->Flush();
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_LE(entry.file_size(), 10'000u) << entry.path();
  }
  EXPECT_EQ((*log)->lost_lines(), 0u);
}

TEST(EscapeTest, AgreesWithAByteByByteScan) {
  std::mt19937 random(7);
  for (int round = 0; round < 2000; ++round) {
    std::string text(random() % 40, 'a');
    for (char& c : text) {
      // Mostly printable, some control bytes, DEL and bytes >= 0x80.
      const unsigned r = random() % 10;
      c = static_cast<char>(r < 6   ? 'a' + random() % 26
                            : r < 8 ? random() % 0x20
                            : r < 9 ? 0x7f
                                    : 0x80 + random() % 0x80);
    }
    std::string expected;
    for (char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte >= 0x20 && byte != 0x7f) {
        expected.push_back(c);
      } else if (c == '\n') {
        expected += "\\n";
      } else if (c == '\r') {
        expected += "\\r";
      } else if (c == '\t') {
        expected += "\\t";
      } else if (c == '\x1b') {
        expected += "\\e";
      } else if (c == '\0') {
        expected += "\\0";
      } else {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", byte);
        expected += hex;
      }
    }
    EXPECT_EQ(Escaped(text), expected);
    EXPECT_EQ(HasControlBytes(text), expected != text);
  }
}

TEST_F(ServerLogTest, UnwritableDirectoryIsAnError) {
  auto log = ServerLog::Open("/proc/herd-cannot/Riley.log", {});
  EXPECT_FALSE(log.ok());
}

}  // namespace
}  // namespace herd
