#ifndef HERD_APP_CONFIG_H_
#define HERD_APP_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "api/token_auth.h"
#include "common/server_log.h"
#include "edge/edge_options.h"
#include "places/provider_factory.h"
#include "store/durable_store.h"
#include "store/record.h"

namespace herd {

// "HOST:PORT" from the config: an IPv4 or bracketed IPv6 literal or a name.
struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;
  std::string ToString() const;
};

struct ServerConfig {
  std::string name;
  HostPort edge;
  HostPort grpc;
  std::optional<HostPort> peer;      // herd.v1.Peer alone; absent: served on grpc
  std::optional<HostPort> edge_tls;  // the text protocol over TLS; optional
  std::optional<HostPort> health;    // plaintext grpc.health.v1 alone, for probes
  std::optional<HostPort> metrics;   // Prometheus text format over HTTP; optional
  size_t index = 0;                  // position in "servers", for messages

  // Where neighbours dial this server's Peer service.
  const HostPort& peer_address() const { return peer ? *peer : grpc; }
};

// Certificates for gRPC (and the edge's TLS port): absolute paths, where
// "{name}" stands for the server's name.
struct TlsConfig {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;

  // The path with "{name}" replaced by `server`.
  static std::string ForServer(const std::string& path, const std::string& server);
};

// "edge": straight into the edge's options (server_name, max_future_s and
// metrics are the wiring's to fill in), and its threads.
struct EdgeConfig {
  EdgeOptions options;
  // Event-loop threads for client connections. One per core the server may
  // use; the default herd runs five servers on one machine, so one each.
  int threads = 1;
};

// "store": bounds on what a server remembers. Both off (0) by default.
struct StoreConfig {
  // Distinct clients kept; a new client beyond it is refused (existing ones
  // keep updating), like Redis's maxmemory with noeviction.
  size_t max_clients = 0;
  // A client not heard of for this long (by its record's origin receive
  // time) is forgotten on every server, like Tile38's EX.
  int64_t client_ttl_s = 0;
};

// "fences": geofences (docs/fences.md) and their webhooks.
struct FencesConfig {
  size_t max_fences = 10'000;          // live fences in the herd; Set beyond: RESOURCE_EXHAUSTED
  size_t webhook_max_queued = 10'000;  // events waiting for delivery (retries too); more: dropped
  int webhook_max_attempts = 8;        // per event, then it is given up (logged)
  int webhook_timeout_ms = 5'000;      // per attempt
};

// "grpc": limits of the gRPC server and of Watch streams.
struct GrpcLimitsConfig {
  size_t max_watch_streams = 1000;            // open Watch streams per server
  size_t max_watch_streams_per_caller = 100;  // per peer address
  size_t max_watch_filter_ids = 1000;         // ids in one Watch filter
  size_t max_watch_filter_bytes = 64 << 10;   // their total size
  size_t max_concurrent_streams = 1000;       // calls in flight per connection
  size_t memory_bytes = 256 << 20;            // gRPC's resource quota
  int max_threads = 64;                       // gRPC's thread quota
};

// "log_dir" and "log": where each server's log goes, and the log's own
// options (max_file_bytes, max_files).
struct LogConfig {
  std::string dir;  // absolute
  ServerLog::Options options;
};

// The whole herd as described by a config file (spec section 1). Immutable
// value; relative paths are already resolved against the file's folder.
struct HerdConfig {
  std::string path;
  std::vector<ServerConfig> servers;
  std::vector<std::pair<std::string, std::string>> links;
  PlacesSettings places;  // "places", straight into the factory's settings
  EdgeConfig edge;
  LogConfig log;
  std::optional<TlsConfig> tls;                     // SPEC section 8; absent: plaintext
  std::optional<TokenAuth::Options> auth;           // absent: the API answers anyone
  bool insecure = false;                            // lifts protected mode
  int64_t max_future_s = kDefaultMaxFutureSeconds;  // how far ahead a client time may be
  StoreConfig store;
  GrpcLimitsConfig grpc_limits;
  FencesConfig fences;
  // SPEC section 9: "data_dir" (resolved; empty: memory only), "fsync" and
  // "rocksdb" (cache bounds). `path` is left for the server to fill in.
  DurableOptions durability;
  std::string data_dir;

  const ServerConfig* Find(std::string_view name) const;
  // The names linked to `name`, in config order.
  std::vector<std::string> NeighboursOf(std::string_view name) const;
};

// Reads and checks a config file. Every error names the file and the field,
// e.g. `herd.json: links[2][1]: unknown server "Bob"`.
absl::StatusOr<HerdConfig> LoadConfig(const std::string& path);

// The same from text; relative paths resolve against `base_dir`.
absl::StatusOr<HerdConfig> ParseConfig(std::string_view json_text, const std::string& base_dir);

// Protected mode (SPEC section 8): a server whose grpc or peer address is
// not loopback needs tls and auth unless the config says "insecure": true,
// and bearer tokens never cross a network in clear text. A host name counts
// as loopback only if it resolves to loopback addresses alone. The error
// names the field.
absl::Status CheckProtectedMode(const HerdConfig& config, const ServerConfig& server);

// Parses "HOST:PORT" / "[V6]:PORT".
absl::StatusOr<HostPort> ParseHostPort(std::string_view text);

}  // namespace herd

#endif  // HERD_APP_CONFIG_H_
