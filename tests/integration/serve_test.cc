// `herd serve` and `herd up` as real processes: the command line, config
// errors, the edge with the bundled gazetteer, and the log file.

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "tests/integration/herd_process.h"

namespace herd::testing {
namespace {

constexpr char kIamat[] = "IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503\n";

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(ServeTest, AnswersIamatAndWhatsatFromTheBundledGazetteer) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  const std::string at = Exchange(port, kIamat);
  EXPECT_TRUE(
      std::regex_match(at, std::regex("AT Riley [+-][0-9]+\\.[0-9]{9} kiwi\\.cs\\.ucla\\.edu "
                                      "\\+34\\.068930-118\\.445127 1621464827\\.959498503\n")))
      << at;
  const std::string reply = Exchange(port, "WHATSAT kiwi.cs.ucla.edu 10 5\n");
  ASSERT_EQ(reply.rfind(at, 0), 0u) << reply;
  ASSERT_GE(reply.size(), at.size() + 2);
  EXPECT_EQ(reply.substr(reply.size() - 3), "}\n\n");
  const std::string body = reply.substr(at.size());
  EXPECT_EQ(body.find("\n\n"), body.size() - 2) << "no blank line inside the JSON";
  const auto json = nlohmann::json::parse(body);
  EXPECT_EQ(json["status"], "OK");
  ASSERT_EQ(json["results"].size(), 5u);
  EXPECT_EQ(json["results"][0]["name"], "Bel Air");
  EXPECT_EQ(json["results"][1]["name"], "Westwood");
}

TEST(ServeTest, LogsEveryLineInAndReplyOutWithItsConnection) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  Exchange(herd.edge_port("Riley"), "IAMAT Clark +12-118\n");
  const std::string log_path = herd.dir() + "/logs/Riley.log";
  EXPECT_TRUE(WaitFor([&] {
    const std::string log = ReadFile(log_path);
    return std::regex_search(log, std::regex("c[0-9]+ < IAMAT Clark \\+12-118")) &&
           std::regex_search(log, std::regex("c[0-9]+ > \\? .*IAMAT Clark \\+12-118"));
  })) << ReadFile(log_path);
}

TEST(ServeTest, SigtermStopsTheServer) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  Exchange(herd.edge_port("Riley"), kIamat);
  // A clean exit (status 0) once the process has stopped...
  EXPECT_EQ(herd.Stop("Riley", SIGTERM), 0);
  EXPECT_FALSE(Accepting(herd.edge_port("Riley")));
  // ...with its log flushed: the exchange, the signal and the last line.
  const std::string log = ReadFile(herd.dir() + "/logs/Riley.log");
  EXPECT_TRUE(std::regex_search(log, std::regex("c[0-9]+ < IAMAT kiwi\\.cs\\.ucla\\.edu"))) << log;
  EXPECT_NE(log.find("signal 15: shutting down"), std::string::npos) << log;
  // (Threads' lines are flushed in turn, not in time order: the last
  // line written need not be last in the file.)
  EXPECT_TRUE(std::regex_search(log, std::regex("Z I Riley stopped\n"))) << log;
  EXPECT_EQ(log.back(), '\n') << log;
}

TEST(CommandLineTest, UnknownServerNameExitsTwoNamingIt) {
  HerdProcesses herd({"Riley"}, {});
  RunResult result = RunHerd({"serve", "Nobody", "--config", herd.config_path()});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.stderr_text.find("\"Nobody\""), std::string::npos) << result.stderr_text;
}

TEST(CommandLineTest, BadConfigExitsTwoNamingTheField) {
  HerdProcesses herd({"Riley"}, {},
                     {{"links", nlohmann::json::array({nlohmann::json::array({"Riley", "Bob"})})}});
  RunResult result = RunHerd({"serve", "Riley", "--config", herd.config_path()});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.stderr_text.find("links[0][1]: unknown server \"Bob\""), std::string::npos)
      << result.stderr_text;
  EXPECT_EQ(std::count(result.stderr_text.begin(), result.stderr_text.end(), '\n'), 1);
}

TEST(CommandLineTest, UnreadableConfigExitsTwo) {
  RunResult result = RunHerd({"up", "--config", "/nonexistent/herd.json"});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.stderr_text.find("/nonexistent/herd.json"), std::string::npos);
}

TEST(CommandLineTest, BadFlagsExitTwoWithOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"serve"},
                                                                {"serve", "Riley", "--bogus"},
                                                                {"launch"},
                                                                {}}) {
    RunResult result = RunHerd(args);
    EXPECT_EQ(result.exit_status, 2);
    EXPECT_EQ(std::count(result.stderr_text.begin(), result.stderr_text.end(), '\n'), 1)
        << result.stderr_text;
  }
  EXPECT_EQ(RunHerd({"--help"}).exit_status, 0);
  EXPECT_EQ(RunHerd({"serve", "--help"}).exit_status, 0);
}

TEST(CommandLineTest, VersionPrintsTheProjectVersion) {
  const RunResult result = RunHerd({"--version"});
  EXPECT_EQ(result.exit_status, 0) << result.stderr_text;
  EXPECT_EQ(result.stdout_text, "herd " HERD_VERSION "\n");
  EXPECT_EQ(result.stderr_text, "");
}

TEST(CommandLineTest, PortInUseIsAClearError) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  RunResult result = RunHerd({"serve", "Riley", "--config", herd.config_path()});
  EXPECT_NE(result.exit_status, 0);
  EXPECT_NE(result.stderr_text.find(std::to_string(herd.edge_port("Riley"))), std::string::npos)
      << result.stderr_text;
  EXPECT_NE(result.stderr_text.find("in use"), std::string::npos) << result.stderr_text;
}

TEST(UpTest, StartsEveryServerAndStopsThemOnSigterm) {
  HerdProcesses herd({"Riley", "Jaquez", "Juzang"}, {{"Riley", "Jaquez"}});
  const pid_t pid = fork();
  if (pid == 0) {
    execl(HERD_BINARY, HERD_BINARY, "up", "--config", herd.config_path().c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  for (const std::string& name : herd.names()) {
    EXPECT_TRUE(WaitFor([&] { return Accepting(herd.edge_port(name)); })) << name;
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (const std::string& name : herd.names()) {
    EXPECT_FALSE(Accepting(herd.edge_port(name))) << name;
  }
}

}  // namespace
}  // namespace herd::testing
