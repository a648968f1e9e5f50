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
  EXPECT_EQ(config->places.provider, PlacesProviderKind::kAuto);
  EXPECT_EQ(config->log.dir, HERD_SOURCE_DIR "/logs");
  EXPECT_EQ(config->data_dir, HERD_SOURCE_DIR "/data");  // README: wipe data/
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
  EXPECT_EQ(ErrorOf(Config(kTwo, R"([["Riley", "Bob"]])")), "links[0][1]: unknown server \"Bob\"");
  EXPECT_EQ(ErrorOf(Config(kTwo, R"([["Riley", "Jaquez"], ["Riley"]])")),
            "links[1]: expected [NAME, NAME]");
  EXPECT_EQ(ErrorOf(Config(kTwo, R"([["Riley", "Riley"]])")),
            "links[0]: links \"Riley\" to itself");
  EXPECT_EQ(ErrorOf(Config(R"([{"name": "A", "edge": "127.0.0.1:1", "grpc": "127.0.0.1:2"},
                               {"name": "A", "edge": "127.0.0.1:3", "grpc": "127.0.0.1:4"}])")),
            "servers[1].name: duplicate server name \"A\" (names are compared ignoring case)");
  EXPECT_EQ(ErrorOf(Config(R"([{"name": "Riley", "edge": "127.0.0.1:1", "grpc": "127.0.0.1:2"},
                               {"name": "riley", "edge": "127.0.0.1:3", "grpc": "127.0.0.1:4"}])")),
            "servers[1].name: duplicate server name \"riley\" (names are compared ignoring case)");
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

const std::string kToken = R"({"name": "dispatch", "sha256": ")" + std::string(64, 'a') +
                           R"(", "roles": ["read", "report"]})";

TEST(ConfigTest, TrustKeysParse) {
  absl::StatusOr<HerdConfig> config =
      ParseConfig(Config(R"([{"name": "A", "edge": "127.0.0.1:1", "grpc": "127.0.0.1:2",
                  "peer": "127.0.0.1:3", "edge_tls": "127.0.0.1:4"}])",
                         "[]",
                         R"(, "tls": {"ca_file": "certs/ca.pem", "cert_file": "certs/{name}.pem",
                          "key_file": "/keys/{name}.key"},
                 "auth": {"tokens": [)" +
                             kToken + R"(]},
                 "max_future_s": 3600, "insecure": true)"),
                  "/etc/herd");
  ASSERT_TRUE(config.ok()) << config.status();
  const ServerConfig& a = config->servers[0];
  EXPECT_EQ(a.peer->ToString(), "127.0.0.1:3");
  EXPECT_EQ(a.peer_address().port, 3);
  EXPECT_EQ(a.edge_tls->port, 4);
  ASSERT_TRUE(config->tls.has_value());
  EXPECT_EQ(config->tls->ca_file, "/etc/herd/certs/ca.pem");
  EXPECT_EQ(TlsConfig::ForServer(config->tls->cert_file, "A"), "/etc/herd/certs/A.pem");
  EXPECT_EQ(TlsConfig::ForServer(config->tls->key_file, "A"), "/keys/A.key");
  ASSERT_TRUE(config->auth.has_value());
  ASSERT_EQ(config->auth->tokens.size(), 1u);
  EXPECT_EQ(config->auth->tokens[0].name, "dispatch");
  EXPECT_TRUE(config->auth->tokens[0].Has(Role::kRead));
  EXPECT_TRUE(config->auth->tokens[0].Has(Role::kReport));
  EXPECT_FALSE(config->auth->tokens[0].Has(Role::kAdmin));
  EXPECT_EQ(config->max_future_s, 3600);
  EXPECT_TRUE(config->insecure);
}

TEST(ConfigTest, TrustDefaults) {
  absl::StatusOr<HerdConfig> config = ParseConfig(Config(kTwo), "/etc/herd");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->servers[0].peer.has_value());
  EXPECT_EQ(config->servers[0].peer_address().port, 12100);
  EXPECT_FALSE(config->tls.has_value());
  EXPECT_FALSE(config->auth.has_value());
  EXPECT_FALSE(config->insecure);
  EXPECT_EQ(config->max_future_s, 86400);
}

TEST(ConfigTest, TrustErrorsNameTheField) {
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "tls": {"ca_file": "a", "cert_file": "b"})")),
            "tls.key_file: missing");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "auth": {"tokens": []})")),
            "auth.tokens: expected a non-empty array of tokens");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "auth": {"tokens": [{"name": "x", "sha256": "abc",
                                                                  "roles": ["read"]}]})")),
            "auth.tokens[0].sha256: expected 64 hex digits (a SHA-256), got 3 characters");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]",
                           R"(, "auth": {"tokens": [{"name": "x", "sha256": ")" +
                               std::string(64, 'b') + R"(", "roles": ["read", "write"]}]})")),
            "auth.tokens[0].roles[1]: \"write\" is not one of read, report, admin");
  EXPECT_EQ(
      ErrorOf(Config(kTwo, "[]", R"(, "auth": {"tokens": [)" + kToken + ", " + kToken + "]}")),
      "auth.tokens[1].name: duplicate token name \"dispatch\"");
  EXPECT_EQ(
      ErrorOf(Config(kTwo, "[]",
                     R"(, "auth": {"tokens": [)" + kToken + R"(, {"name": "other", "sha256": ")" +
                         std::string(64, 'A') + R"(", "roles": ["admin"]}]})")),
      "auth.tokens[1].sha256: the same token as another entry");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "insecure": "yes")")),
            "insecure: expected true or false");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "max_future_s": 0)")),
            "max_future_s: expected a positive integer (seconds)");
  EXPECT_EQ(ErrorOf(Config(R"([{"name": "A", "edge": "127.0.0.1:1", "grpc": "127.0.0.1:2",
                                "peer": "127.0.0.1:1"}])")),
            "servers[0].peer: duplicate port 1");
}

// The config `extra` with one server A whose grpc address is `grpc`.
absl::Status ProtectedModeOf(const std::string& grpc, const std::string& extra = "",
                             const std::string& peer = "") {
  const std::string server = R"({"name": "A", "edge": "127.0.0.1:1", "grpc": ")" + grpc +
                             (peer.empty() ? "" : R"(", "peer": ")" + peer) + R"("})";
  absl::StatusOr<HerdConfig> config = ParseConfig(Config("[" + server + "]", "[]", extra), "/x");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? CheckProtectedMode(*config, config->servers[0]) : config.status();
}

TEST(ProtectedModeTest, LoopbackNeedsNothing) {
  EXPECT_TRUE(ProtectedModeOf("127.0.0.1:2").ok());
  EXPECT_TRUE(ProtectedModeOf("127.0.0.7:2").ok());
  EXPECT_TRUE(ProtectedModeOf("[::1]:2").ok());
  EXPECT_TRUE(ProtectedModeOf("localhost:2").ok());
}

TEST(ProtectedModeTest, AnyOtherAddressNeedsTlsAndAuth) {
  const std::string tls =
      R"(, "tls": {"ca_file": "c", "cert_file": "{name}.pem", "key_file": "{name}.key"})";
  const std::string auth = R"(, "auth": {"tokens": [)" + kToken + "]}";
  EXPECT_EQ(ProtectedModeOf("0.0.0.0:2").message(),
            "servers[0].grpc: 0.0.0.0:2 is not a loopback address, so \"tls\" and \"auth\" "
            "must be set (protected mode; \"insecure\": true lifts it)");
  EXPECT_EQ(ProtectedModeOf("[::]:2", tls).message(),
            "servers[0].grpc: [::]:2 is not a loopback address, so \"auth\" must be set "
            "(protected mode; \"insecure\": true lifts it)");
  EXPECT_EQ(ProtectedModeOf("127.0.0.1:2", "", "198.18.0.1:3").message(),
            "servers[0].peer: 198.18.0.1:3 is not a loopback address, so \"tls\" and "
            "\"auth\" must be set (protected mode; \"insecure\": true lifts it)");
  EXPECT_TRUE(ProtectedModeOf("0.0.0.0:2", tls + auth).ok());
  EXPECT_TRUE(ProtectedModeOf("0.0.0.0:2", R"(, "insecure": true)").ok());
  // Tokens in clear text over a network: not even with "insecure".
  EXPECT_EQ(ProtectedModeOf("0.0.0.0:2", auth + R"(, "insecure": true)").message(),
            "auth: bearer tokens would cross the network in clear text to servers[0].grpc "
            "0.0.0.0:2: set \"tls\" too");
  // Without TLS, tokens are checked by gRPC's local credentials, which take
  // 127.0.0.1 and ::1 alone.
  EXPECT_EQ(ProtectedModeOf("127.0.0.7:2", auth).message(),
            "servers[0].grpc: bearer tokens without \"tls\" are checked on 127.0.0.1 and [::1] "
            "only (gRPC's local credentials), not on 127.0.0.7:2: set \"tls\" too");
  EXPECT_TRUE(ProtectedModeOf("127.0.0.1:2", auth).ok());
  EXPECT_TRUE(ProtectedModeOf("[::1]:2", auth).ok());
  EXPECT_TRUE(ProtectedModeOf("127.0.0.7:2", tls + auth).ok());
  // A name that does not resolve is not known to be loopback.
  EXPECT_FALSE(ProtectedModeOf("no-such-host.invalid:2").ok());
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
  for (const char* bad :
       {"127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:0", "1.2.3:80", "300.1.1.1:80", "[::1:80",
        "[zz]:80", "host name:80", "a:b", "127.0.0.1:80x"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
}

TEST(ConfigTest, FencesHaveDefaultsAndNameTheirField) {
  absl::StatusOr<HerdConfig> defaults = ParseConfig(Config(kTwo), "/etc/herd");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->fences.max_fences, 10'000u);
  EXPECT_EQ(defaults->fences.webhook_max_attempts, 8);

  absl::StatusOr<HerdConfig> set =
      ParseConfig(Config(kTwo, "[]",
                         R"(, "fences": {"max_fences": 3, "webhook_max_queued": 4,
                             "webhook_max_attempts": 2, "webhook_timeout_ms": 250})"),
                  "/etc/herd");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->fences.max_fences, 3u);
  EXPECT_EQ(set->fences.webhook_max_queued, 4u);
  EXPECT_EQ(set->fences.webhook_max_attempts, 2);
  EXPECT_EQ(set->fences.webhook_timeout_ms, 250);

  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "fences": {"max_fences": -1})")),
            "fences.max_fences: expected an integer from 0 to 16777216");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "fences": {"webhook_max_attempts": 0})")),
            "fences.webhook_max_attempts: must be at least 1");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "fences": true)")), "fences: expected an object");
}

TEST(ConfigTest, LimitsHaveDefaultsAndNameTheirField) {
  absl::StatusOr<HerdConfig> defaults = ParseConfig(Config(kTwo), "/etc/herd");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->store.max_clients, 0u);
  EXPECT_EQ(defaults->store.client_ttl_s, 0);
  EXPECT_EQ(defaults->edge.options.max_connections_per_ip, 0u);
  EXPECT_EQ(defaults->edge.options.line_timeout, std::chrono::seconds(30));
  EXPECT_EQ(defaults->grpc_limits.max_watch_streams, 1000u);

  absl::StatusOr<HerdConfig> set =
      ParseConfig(Config(kTwo, "[]",
                         R"(, "store": {"max_clients": 5, "client_ttl_s": 60},
                 "edge": {"max_connections_per_ip": 3, "line_timeout_ms": 500},
                 "grpc": {"max_watch_streams": 7, "max_watch_streams_per_caller": 2,
                          "max_watch_filter_ids": 10, "max_watch_filter_bytes": 100})"),
                  "/etc/herd");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->store.max_clients, 5u);
  EXPECT_EQ(set->store.client_ttl_s, 60);
  EXPECT_EQ(set->edge.options.max_connections_per_ip, 3u);
  EXPECT_EQ(set->edge.options.line_timeout, std::chrono::milliseconds(500));
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

TEST(ConfigTest, DurabilityKeysParseAndNameTheirField) {
  absl::StatusOr<HerdConfig> memory = ParseConfig(Config(kTwo), "/etc/herd");
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_EQ(memory->data_dir, "");  // memory only
  EXPECT_EQ(memory->durability.fsync, FsyncMode::kEverySec);
  absl::StatusOr<HerdConfig> config =
      ParseConfig(Config(kTwo, "[]",
                         R"(, "data_dir": "var/data", "fsync": "always",
                "rocksdb": {"block_cache_mb": 4, "write_buffer_mb": 2})"),
                  "/etc/herd");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->data_dir, "/etc/herd/var/data");
  EXPECT_EQ(config->durability.fsync, FsyncMode::kAlways);
  EXPECT_EQ(config->durability.block_cache_bytes, size_t{4} << 20);
  EXPECT_EQ(config->durability.write_buffer_bytes, size_t{2} << 20);
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "fsync": "sometimes")")),
            "fsync: expected \"always\", \"everysec\" or \"no\"");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "data_dir": "")")), "data_dir: empty");
  EXPECT_EQ(ErrorOf(Config(kTwo, "[]", R"(, "rocksdb": {"block_cache_mb": 0})")),
            "rocksdb.block_cache_mb: expected a positive integer");
}

}  // namespace
}  // namespace herd
