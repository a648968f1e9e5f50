#include "app/config.h"

#include <gtest/gtest.h>

#include <string>

namespace herd {
namespace {

std::string Config(const std::string& servers, const std::string& links = "[]",
                   const std::string& extra = "") {
  return R"({"servers": )" + servers + R"(, "links": )" + links + extra + "}";
}

const std::string kTwo = R"([
  {"name": "Riley", "edge": "127.0.0.1:12000", "grpc": "127.0.0.1:12100"},
  {"name": "Jaquez", "edge": "127.0.0.1:12001", "grpc": "127.0.0.1:12101"}])";

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<HerdConfig> config = ParseConfig(text, "/etc/herd");
  return config.ok() ? "" : std::string(config.status().message());
}

TEST(ConfigTest, TheDefaultHerdParses) {
  absl::StatusOr<HerdConfig> config = LoadConfig(HERD_SOURCE_DIR "/config/herd.json");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->servers.size(), 5u);
  EXPECT_EQ(config->links.size(), 6u);
  EXPECT_EQ(config->Find("Riley")->edge.port, 12000);
  EXPECT_EQ(config->Find("Bernard")->grpc.ToString(), "127.0.0.1:12104");
  EXPECT_EQ(config->NeighboursOf("Bernard"),
            (std::vector<std::string>{"Jaquez", "Juzang", "Campbell"}));
  EXPECT_EQ(config->NeighboursOf("Riley"), (std::vector<std::string>{"Jaquez", "Juzang"}));
  EXPECT_EQ(config->places.provider, "auto");
  EXPECT_EQ(config->log.dir, HERD_SOURCE_DIR "/logs");
}

TEST(ConfigTest, RelativePathsResolveAgainstTheConfigFolder) {
  absl::StatusOr<HerdConfig> config =
      ParseConfig(Config(kTwo, "[]", R"(, "log_dir": "var/log", "places": {"gazetteer": "g.tsv"})"),
                  "/etc/herd");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->log.dir, "/etc/herd/var/log");
  EXPECT_EQ(config->places.gazetteer, "/etc/herd/g.tsv");
}

TEST(ConfigTest, ErrorsNameTheField) {
  EXPECT_EQ(ErrorOf("{"), "not valid JSON");
  EXPECT_EQ(ErrorOf("{}"), "servers: expected a non-empty array of servers");
  EXPECT_EQ(ErrorOf(Config(kTwo, R"([["Riley", "Bob"]])")),
            "links[0][1]: unknown server \"Bob\"");
  EXPECT_EQ(ErrorOf(Config(kTwo, R"([["Riley", "Jaquez"], ["Riley"]])")),
            "links[1]: expected [NAME, NAME]");
  EXPECT_EQ(ErrorOf(Config(kTwo, R"([["Riley", "Riley"]])")),
            "links[0]: links \"Riley\" to itself");
  EXPECT_EQ(ErrorOf(Config(R"([{"name": "A", "edge": "127.0.0.1:1", "grpc": "127.0.0.1:2"},
                               {"name": "A", "edge": "127.0.0.1:3", "grpc": "127.0.0.1:4"}])")),
            "servers[1].name: duplicate server name \"A\"");
  EXPECT_EQ(ErrorOf(Config(R"([{"name": "A", "edge": "127.0.0.1:1", "grpc": "127.0.0.1:2"},
                               {"name": "B", "edge": "127.0.0.1:2", "grpc": "127.0.0.1:4"}])")),
            "servers[1].edge: duplicate port 2");
  EXPECT_EQ(ErrorOf(Config(R"([{"name": "A", "edge": "127.0.0.1:99999", "grpc": "127.0.0.1:2"}])")),
            "servers[0].edge: \"127.0.0.1:99999\" is not HOST:PORT (port 1-65535)");
  EXPECT_EQ(ErrorOf(Config(R"([{"name": "A", "edge": "127.0.0.1:1"}])")),
            "servers[0].grpc: missing");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "places": {"provider": "bing"})")),
            "places.provider: \"bing\" is not one of auto, google, google-legacy, offline");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "edge": {"max_connections": -1})")),
            "edge.max_connections: expected a positive integer");
}

TEST(ConfigTest, ServersOnDifferentHostsMayShareAPort) {
  absl::StatusOr<HerdConfig> config = ParseConfig(
      Config(R"([{"name": "herd-0", "edge": "herd-0.herd:12000", "grpc": "herd-0.herd:12100"},
                 {"name": "herd-1", "edge": "herd-1.herd:12000", "grpc": "herd-1.herd:12100"}])"),
      "/etc/herd");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->servers[1].edge.ToString(), "herd-1.herd:12000");
  // One host, one port: still refused.
  EXPECT_EQ(ErrorOf(Config(R"([{"name": "A", "edge": "a.herd:1", "grpc": "a.herd:2"},
                               {"name": "B", "edge": "b.herd:1", "grpc": "a.herd:2"}])")),
            "servers[1].grpc: duplicate port 2");
}

TEST(ConfigTest, UnreadableFileIsNamed) {
  absl::StatusOr<HerdConfig> config = LoadConfig("/nonexistent/herd.json");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "/nonexistent/herd.json: cannot read the config file");
}

TEST(HostPortTest, ParsesAndRejects) {
  EXPECT_EQ(ParseHostPort("127.0.0.1:12000")->port, 12000);
  EXPECT_EQ(ParseHostPort("[::1]:80")->host, "::1");
  EXPECT_EQ(ParseHostPort("[::1]:80")->ToString(), "[::1]:80");
  EXPECT_EQ(ParseHostPort("localhost:80")->host, "localhost");
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:0", "1.2.3:80",
                          "300.1.1.1:80", "[::1:80", "[zz]:80", "host name:80", "a:b",
                          "127.0.0.1:80x"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace herd
