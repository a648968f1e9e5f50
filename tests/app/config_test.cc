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

TEST(ConfigTest, LimitsHaveDefaultsAndNameTheirField) {
  absl::StatusOr<HerdConfig> defaults = ParseConfig(Config(kTwo), "/etc/herd");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->store.max_clients, 0u);
  EXPECT_EQ(defaults->store.client_ttl_s, 0);
  EXPECT_EQ(defaults->edge.max_connections_per_ip, 0u);
  EXPECT_EQ(defaults->edge.line_timeout_ms, 30'000);
  EXPECT_EQ(defaults->grpc_limits.max_watch_streams, 1000u);

  absl::StatusOr<HerdConfig> set = ParseConfig(
      Config(kTwo, "[]",
             R"(, "store": {"max_clients": 5, "client_ttl_s": 60},
                 "edge": {"max_connections_per_ip": 3, "line_timeout_ms": 500},
                 "grpc": {"max_watch_streams": 7, "max_watch_streams_per_caller": 2,
                          "max_watch_filter_ids": 10, "max_watch_filter_bytes": 100})"),
      "/etc/herd");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->store.max_clients, 5u);
  EXPECT_EQ(set->store.client_ttl_s, 60);
  EXPECT_EQ(set->edge.max_connections_per_ip, 3u);
  EXPECT_EQ(set->edge.line_timeout_ms, 500);
  EXPECT_EQ(set->grpc_limits.max_watch_streams, 7u);
  EXPECT_EQ(set->grpc_limits.max_watch_streams_per_caller, 2u);
  EXPECT_EQ(set->grpc_limits.max_watch_filter_ids, 10u);
  EXPECT_EQ(set->grpc_limits.max_watch_filter_bytes, 100u);

  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "store": {"max_clients": -1})")),
            "store.max_clients: expected an integer from 0 to 1099511627776");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "store": {"client_ttl_s": "1h"})")),
            "store.client_ttl_s: expected an integer from 0 to 1073741824");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "edge": {"line_timeout_ms": 0})")),
            "edge.line_timeout_ms: expected a positive integer");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "grpc": {"max_watch_streams": 0})")),
            "grpc.max_watch_streams: expected a positive integer");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "store": [])")), "store: expected an object");
}

}  // namespace
}  // namespace herd
