#include "app/config.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "places/gazetteer.h"

namespace herd {
namespace {

using nlohmann::json;

absl::Status FieldError(std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(field), ": ", AsAbsl(problem)));
}

bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

bool LooksNumeric(std::string_view host) {
  return host.find_first_not_of("0123456789.") == std::string_view::npos;
}

// Reads json[key] as T if present. Errors name `field`.
template <typename T>
absl::Status Read(const json& object, const char* key, std::string_view field, T* out) {
  const auto it = object.find(key);
  if (it == object.end()) return absl::OkStatus();
  const std::string name = absl::StrCat(AsAbsl(field), ".", key);
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return FieldError(name, "expected a string");
    *out = it->template get<std::string>();
  } else {
    if (!it->is_number_integer() || it->template get<int64_t>() <= 0) {
      return FieldError(name, "expected a positive integer");
    }
    *out = static_cast<T>(it->template get<int64_t>());
  }
  return absl::OkStatus();
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

// Parses servers[i].KEY into `out`. Two servers cannot share a host and
// port; servers on different hosts may (a StatefulSet's pods all listen on
// the same ports).
using AddressSet = std::set<std::pair<std::string, uint16_t>>;
absl::Status ParseAddress(std::string_view text, std::string_view field, const char* key,
                          AddressSet* addresses, HostPort* out) {
  const std::string name = absl::StrCat(AsAbsl(field), ".", key);
  absl::StatusOr<HostPort> address = ParseHostPort(text);
  if (!address.ok()) return FieldError(name, AsStd(address.status().message()));
  if (!addresses->insert({address->host, address->port}).second) {
    return FieldError(name, absl::StrCat("duplicate port ", address->port));
  }
  *out = *std::move(address);
  return absl::OkStatus();
}

absl::Status ParseServers(const json& root, HerdConfig* config) {
  const auto it = root.find("servers");
  if (it == root.end() || !it->is_array() || it->empty()) {
    return FieldError("servers", "expected a non-empty array of servers");
  }
  std::set<std::string> names;
  AddressSet addresses;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& entry = (*it)[i];
    const std::string field = absl::StrCat("servers[", i, "]");
    if (!entry.is_object()) return FieldError(field, "expected an object");
    ServerConfig server;
    std::string edge, grpc;
    for (auto [key, out] :
         {std::pair{"name", &server.name}, std::pair{"edge", &edge}, std::pair{"grpc", &grpc}}) {
      if (!entry.contains(key)) return FieldError(absl::StrCat(field, ".", key), "missing");
      if (absl::Status s = Read(entry, key, field, out); !s.ok()) return s;
    }
    if (server.name.empty() || !IsHostName(server.name)) {
      return FieldError(absl::StrCat(field, ".name"),
                        absl::StrCat("\"", server.name, "\" is not a valid server name"));
    }
    // DNS names (which certificates carry) ignore case, so names must too.
    if (!names.insert(absl::AsciiStrToLower(server.name)).second) {
      return FieldError(absl::StrCat(field, ".name"),
                        absl::StrCat("duplicate server name \"", server.name,
                                     "\" (names are compared ignoring case)"));
    }
    std::optional<std::string> peer, edge_tls, health, metrics;
    for (auto [key, out] : {std::pair{"peer", &peer}, std::pair{"edge_tls", &edge_tls},
                            std::pair{"health", &health}, std::pair{"metrics", &metrics}}) {
      if (!entry.contains(key)) continue;
      out->emplace();
      if (absl::Status s = Read(entry, key, field, &**out); !s.ok()) return s;
    }
    for (auto [key, text, out] :
         {std::tuple{"edge", &edge, &server.edge}, std::tuple{"grpc", &grpc, &server.grpc}}) {
      if (absl::Status s = ParseAddress(*text, field, key, &addresses, out); !s.ok()) return s;
    }
    for (auto [key, text, out] : {std::tuple{"peer", &peer, &server.peer},
                                  std::tuple{"edge_tls", &edge_tls, &server.edge_tls},
                                  std::tuple{"health", &health, &server.health},
                                  std::tuple{"metrics", &metrics, &server.metrics}}) {
      if (!text->has_value()) continue;
      if (absl::Status s = ParseAddress(**text, field, key, &addresses, &out->emplace()); !s.ok()) {
        return s;
      }
    }
    server.index = i;
    config->servers.push_back(std::move(server));
  }
  return absl::OkStatus();
}

absl::Status ParseLinks(const json& root, HerdConfig* config) {
  const auto it = root.find("links");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_array()) return FieldError("links", "expected an array of [NAME, NAME]");
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& link = (*it)[i];
    const std::string field = absl::StrCat("links[", i, "]");
    if (!link.is_array() || link.size() != 2) {
      return FieldError(field, "expected [NAME, NAME]");
    }
    std::string ends[2];
    for (int k = 0; k < 2; ++k) {
      const std::string end_field = absl::StrCat(field, "[", k, "]");
      if (!link[k].is_string()) return FieldError(end_field, "expected a server name");
      ends[k] = link[k].get<std::string>();
      if (config->Find(ends[k]) == nullptr) {
        return FieldError(end_field, absl::StrCat("unknown server \"", ends[k], "\""));
      }
    }
    if (ends[0] == ends[1]) {
      return FieldError(field, absl::StrCat("links \"", ends[0], "\" to itself"));
    }
    auto key = std::minmax(ends[0], ends[1]);
    if (!seen.emplace(key.first, key.second).second) continue;  // harmless repeat
    config->links.emplace_back(ends[0], ends[1]);
  }
  return absl::OkStatus();
}

absl::Status ParsePlaces(const json& root, const std::string& base_dir, PlacesSettings* places) {
  places->gazetteer = DefaultGazetteerPath();
  const auto it = root.find("places");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("places", "expected an object");
  std::string provider(PlacesProviderName(places->provider));
  for (auto [key, out] :
       {std::pair{"provider", &provider}, std::pair{"endpoint", &places->endpoint},
        std::pair{"api_key_env", &places->api_key_env},
        std::pair{"gazetteer", &places->gazetteer}}) {
    if (absl::Status s = Read(*it, key, "places", out); !s.ok()) return s;
  }
  int timeout_ms = static_cast<int>(places->timeout.count());
  if (absl::Status s = Read(*it, "timeout_ms", "places", &timeout_ms); !s.ok()) return s;
  places->timeout = std::chrono::milliseconds(timeout_ms);
  for (auto [key, out] : {std::pair{"cache_entries", &places->cache_entries},
                          std::pair{"max_in_flight", &places->max_in_flight}}) {
    if (absl::Status s = Read(*it, key, "places", out); !s.ok()) return s;
  }
  // These two may also be 0 (no caching; no waiting for a slot).
  int64_t ttl = places->cache_ttl.count(), queued = static_cast<int64_t>(places->max_queued);
  for (auto [key, out] : {std::pair{"cache_ttl_ms", &ttl}, std::pair{"max_queued", &queued}}) {
    const auto value = it->find(key);
    if (value == it->end()) continue;
    if (!value->is_number_integer() || value->get<int64_t>() < 0 ||
        value->get<int64_t>() > std::numeric_limits<int>::max()) {
      return FieldError(absl::StrCat("places.", key), "expected an integer >= 0");
    }
    *out = value->get<int64_t>();
  }
  places->cache_ttl = std::chrono::milliseconds(ttl);
  places->max_queued = static_cast<size_t>(queued);
  const std::optional<PlacesProviderKind> kind = ParsePlacesProviderKind(provider);
  if (!kind) {
    return FieldError(
        "places.provider",
        absl::StrCat("\"", provider, "\" is not one of auto, google, google-legacy, offline"));
  }
  places->provider = *kind;
  if (places->api_key_env.empty()) return FieldError("places.api_key_env", "empty");
  places->gazetteer = Resolve(base_dir, places->gazetteer);
  return absl::OkStatus();
}

absl::Status ParseEdge(const json& root, EdgeConfig* edge) {
  const auto it = root.find("edge");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("edge", "expected an object");
  for (auto [key, out] : {std::pair{"max_line_bytes", &edge->options.max_line_bytes},
                          std::pair{"max_connections", &edge->options.max_connections}}) {
    if (absl::Status s = Read(*it, key, "edge", out); !s.ok()) return s;
  }
  int idle_timeout_ms = static_cast<int>(edge->options.idle_timeout.count());
  for (auto [key, out] :
       {std::pair{"idle_timeout_ms", &idle_timeout_ms}, std::pair{"threads", &edge->threads}}) {
    if (absl::Status s = Read(*it, key, "edge", out); !s.ok()) return s;
  }
  edge->options.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  return absl::OkStatus();
}

absl::Status ParseLog(const json& root, const std::string& base_dir, LogConfig* log) {
  std::string dir = "logs";
  if (absl::Status s = Read(root, "log_dir", "config", &dir); !s.ok()) {
    return FieldError("log_dir", "expected a string");
  }
  if (dir.empty()) return FieldError("log_dir", "empty");
  log->dir = Resolve(base_dir, dir);
  const auto it = root.find("log");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("log", "expected an object");
  for (auto [key, out] : {std::pair{"max_file_bytes", &log->options.max_file_bytes},
                          std::pair{"max_files", &log->options.max_files}}) {
    if (absl::Status s = Read(*it, key, "log", out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ParseTls(const json& root, const std::string& base_dir,
                      std::optional<TlsConfig>* tls) {
  const auto it = root.find("tls");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("tls", "expected an object");
  TlsConfig out;
  for (auto [key, path] :
       {std::pair{"ca_file", &out.ca_file}, std::pair{"cert_file", &out.cert_file},
        std::pair{"key_file", &out.key_file}}) {
    if (!it->contains(key)) return FieldError(absl::StrCat("tls.", key), "missing");
    if (absl::Status s = Read(*it, key, "tls", path); !s.ok()) return s;
    if (path->empty()) return FieldError(absl::StrCat("tls.", key), "empty");
    *path = Resolve(base_dir, *path);
  }
  *tls = std::move(out);
  return absl::OkStatus();
}

absl::Status ParseToken(const json& entry, const std::string& field, TokenGrant* grant) {
  if (!entry.is_object()) return FieldError(field, "expected an object");
  std::string sha256;
  for (auto [key, out] : {std::pair{"name", &grant->name}, std::pair{"sha256", &sha256}}) {
    if (!entry.contains(key)) return FieldError(absl::StrCat(field, ".", key), "missing");
    if (absl::Status s = Read(entry, key, field, out); !s.ok()) return s;
  }
  if (grant->name.empty()) return FieldError(absl::StrCat(field, ".name"), "empty");
  absl::StatusOr<Sha256Digest> digest = ParseSha256Hex(sha256);
  if (!digest.ok()) {
    return FieldError(absl::StrCat(field, ".sha256"), AsStd(digest.status().message()));
  }
  grant->sha256 = *digest;
  const auto roles = entry.find("roles");
  if (roles == entry.end() || !roles->is_array() || roles->empty()) {
    return FieldError(absl::StrCat(field, ".roles"),
                      "expected a non-empty array of \"read\", \"report\", \"admin\"");
  }
  for (size_t k = 0; k < roles->size(); ++k) {
    const json& name = (*roles)[k];
    std::optional<Role> role = name.is_string() ? ParseRole(name.get<std::string>()) : std::nullopt;
    if (!role) {
      return FieldError(absl::StrCat(field, ".roles[", k, "]"),
                        absl::StrCat(name.dump(), " is not one of read, report, admin"));
    }
    grant->roles |= static_cast<uint8_t>(*role);
  }
  return absl::OkStatus();
}

absl::Status ParseAuth(const json& root, std::optional<TokenAuth::Options>* auth) {
  const auto it = root.find("auth");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("auth", "expected an object");
  const auto tokens = it->find("tokens");
  if (tokens == it->end() || !tokens->is_array() || tokens->empty()) {
    return FieldError("auth.tokens", "expected a non-empty array of tokens");
  }
  TokenAuth::Options out;
  std::set<std::string> names;
  std::set<Sha256Digest> digests;
  for (size_t i = 0; i < tokens->size(); ++i) {
    const std::string field = absl::StrCat("auth.tokens[", i, "]");
    TokenGrant grant;
    if (absl::Status s = ParseToken((*tokens)[i], field, &grant); !s.ok()) return s;
    if (!names.insert(grant.name).second) {
      return FieldError(absl::StrCat(field, ".name"),
                        absl::StrCat("duplicate token name \"", grant.name, "\""));
    }
    if (!digests.insert(grant.sha256).second) {
      return FieldError(absl::StrCat(field, ".sha256"), "the same token as another entry");
    }
    out.tokens.push_back(std::move(grant));
  }
  *auth = std::move(out);
  return absl::OkStatus();
}

absl::Status ParseTrustSwitches(const json& root, HerdConfig* config) {
  if (const auto it = root.find("insecure"); it != root.end()) {
    if (!it->is_boolean()) return FieldError("insecure", "expected true or false");
    config->insecure = it->get<bool>();
  }
  return Read(root, "max_future_s", "config", &config->max_future_s).ok()
             ? absl::OkStatus()
             : FieldError("max_future_s", "expected a positive integer (seconds)");
}

// "data_dir" (relative to the config file, like log_dir), "fsync" and
// "rocksdb": {"block_cache_mb", "write_buffer_mb"}.
absl::Status ParseDurability(const json& root, const std::string& base_dir, HerdConfig* config) {
  if (absl::Status s = Read(root, "data_dir", "config", &config->data_dir); !s.ok()) {
    return FieldError("data_dir", "expected a string");
  }
  if (root.contains("data_dir") && config->data_dir.empty()) {
    return FieldError("data_dir", "empty");
  }
  config->data_dir = Resolve(base_dir, config->data_dir);
  std::string fsync = "everysec";
  if (!Read(root, "fsync", "config", &fsync).ok() || !ParseFsyncMode(fsync)) {
    return FieldError("fsync", "expected \"always\", \"everysec\" or \"no\"");
  }
  config->durability.fsync = *ParseFsyncMode(fsync);
  const auto it = root.find("rocksdb");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("rocksdb", "expected an object");
  size_t cache_mb = config->durability.block_cache_bytes >> 20;
  size_t buffer_mb = config->durability.write_buffer_bytes >> 20;
  for (auto [key, out] :
       {std::pair{"block_cache_mb", &cache_mb}, std::pair{"write_buffer_mb", &buffer_mb}}) {
    if (absl::Status s = Read(*it, key, "rocksdb", out); !s.ok()) return s;
  }
  config->durability.block_cache_bytes = cache_mb << 20;
  config->durability.write_buffer_bytes = buffer_mb << 20;
  return absl::OkStatus();
}

// Every address `host` stands for (itself if it is a literal); empty if it
// does not resolve.
std::vector<boost::asio::ip::address> AddressesOf(const std::string& host) {
  boost::system::error_code bad;
  const boost::asio::ip::address literal = boost::asio::ip::make_address(host, bad);
  if (!bad) return {literal};
  std::vector<boost::asio::ip::address> out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      out.push_back(boost::asio::ip::address_v4(ntohl(v4->sin_addr.s_addr)));
    } else if (a->ai_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      boost::asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &v6->sin6_addr, bytes.size());
      out.push_back(boost::asio::ip::address_v6(bytes));
    }
  }
  freeaddrinfo(found);
  return out;
}

// Whether `host` stands for addresses that all pass `test` (and at least one).
template <typename Test>
bool AllAddressesAre(const std::string& host, Test test) {
  const std::vector<boost::asio::ip::address> addresses = AddressesOf(host);
  return !addresses.empty() && std::all_of(addresses.begin(), addresses.end(), test);
}

bool IsLoopbackOnly(const std::string& host) {
  return AllAddressesAre(host, [](const auto& a) { return a.is_loopback(); });
}

// gRPC's local credentials (what runs the token check without TLS) accept
// connections to these two addresses only, not to the rest of 127/8.
bool IsLocalCredentialsAddress(const std::string& host) {
  return AllAddressesAre(host, [](const auto& a) {
    return a == boost::asio::ip::address_v4::loopback() ||
           a == boost::asio::ip::address_v6::loopback();
  });
}

// Reads json[key] as an integer in [0, max] if present ("0" switches a
// limit off where the docs say so).
template <typename T>
absl::Status ReadNonNegative(const json& object, const char* key, std::string_view field, T* out,
                             int64_t max = std::numeric_limits<int>::max()) {
  const auto it = object.find(key);
  if (it == object.end()) return absl::OkStatus();
  if (!it->is_number_integer() || it->template get<int64_t>() < 0 ||
      it->template get<int64_t>() > max) {
    return FieldError(absl::StrCat(AsAbsl(field), ".", key),
                      absl::StrCat("expected an integer from 0 to ", max));
  }
  *out = static_cast<T>(it->template get<int64_t>());
  return absl::OkStatus();
}

// The edge's limits against slow and greedy clients (docs/operations.md).
absl::Status ParseEdgeLimits(const json& root, EdgeConfig* edge) {
  const auto it = root.find("edge");
  if (it == root.end() || !it->is_object()) return absl::OkStatus();  // ParseEdge says
  int line_timeout_ms = static_cast<int>(edge->options.line_timeout.count());
  if (absl::Status s = Read(*it, "line_timeout_ms", "edge", &line_timeout_ms); !s.ok()) return s;
  edge->options.line_timeout = std::chrono::milliseconds(line_timeout_ms);
  return ReadNonNegative(*it, "max_connections_per_ip", "edge",
                         &edge->options.max_connections_per_ip);
}

absl::Status ParseStore(const json& root, StoreConfig* store) {
  const auto it = root.find("store");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("store", "expected an object");
  if (absl::Status s =
          ReadNonNegative(*it, "max_clients", "store", &store->max_clients, int64_t{1} << 40);
      !s.ok()) {
    return s;
  }
  // Up to about 30 years: the expiry is computed in nanoseconds.
  return ReadNonNegative(*it, "client_ttl_s", "store", &store->client_ttl_s, int64_t{1} << 30);
}

absl::Status ParseFences(const json& root, FencesConfig* fences) {
  const auto it = root.find("fences");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("fences", "expected an object");
  for (absl::Status s :
       {ReadNonNegative(*it, "max_fences", "fences", &fences->max_fences, int64_t{1} << 24),
        ReadNonNegative(*it, "webhook_max_queued", "fences", &fences->webhook_max_queued,
                        int64_t{1} << 24),
        ReadNonNegative(*it, "webhook_max_attempts", "fences", &fences->webhook_max_attempts, 100),
        ReadNonNegative(*it, "webhook_timeout_ms", "fences", &fences->webhook_timeout_ms,
                        600'000)}) {
    if (!s.ok()) return s;
  }
  if (fences->webhook_max_attempts < 1) {
    return FieldError("fences.webhook_max_attempts", "must be at least 1");
  }
  if (fences->webhook_timeout_ms < 1) {
    return FieldError("fences.webhook_timeout_ms", "must be at least 1");
  }
  return absl::OkStatus();
}

absl::Status ParseGrpcLimits(const json& root, GrpcLimitsConfig* grpc) {
  const auto it = root.find("grpc");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("grpc", "expected an object");
  for (auto [key, out] :
       {std::pair{"max_watch_streams", &grpc->max_watch_streams},
        std::pair{"max_watch_streams_per_caller", &grpc->max_watch_streams_per_caller},
        std::pair{"max_watch_filter_ids", &grpc->max_watch_filter_ids},
        std::pair{"max_watch_filter_bytes", &grpc->max_watch_filter_bytes},
        std::pair{"max_concurrent_streams", &grpc->max_concurrent_streams},
        std::pair{"memory_bytes", &grpc->memory_bytes}}) {
    if (absl::Status s = Read(*it, key, "grpc", out); !s.ok()) return s;
  }
  return Read(*it, "max_threads", "grpc", &grpc->max_threads);
}

}  // namespace

std::string TlsConfig::ForServer(const std::string& path, const std::string& server) {
  std::string out = path;
  for (size_t at = out.find("{name}"); at != std::string::npos;
       at = out.find("{name}", at + server.size())) {
    out.replace(at, 6, server);
  }
  return out;
}

absl::Status CheckProtectedMode(const HerdConfig& config, const ServerConfig& server) {
  const std::string prefix = absl::StrCat("servers[", server.index, "].");
  std::vector<std::pair<std::string, const HostPort*>> exposed;
  for (auto [key, address] : {std::pair{"grpc", &server.grpc},
                              std::pair{"peer", server.peer ? &*server.peer : nullptr}}) {
    if (address != nullptr && !IsLoopbackOnly(address->host)) {
      exposed.emplace_back(prefix + key, address);
    }
  }
  if (config.auth && !config.tls) {
    if (!exposed.empty()) {
      return FieldError("auth",
                        absl::StrCat("bearer tokens would cross the network in clear "
                                     "text to ",
                                     exposed.front().first, " ", exposed.front().second->ToString(),
                                     ": set \"tls\" too"));
    }
    if (!IsLocalCredentialsAddress(server.grpc.host)) {
      return FieldError(prefix + "grpc",
                        absl::StrCat("bearer tokens without \"tls\" are checked on 127.0.0.1 "
                                     "and [::1] only (gRPC's local credentials), not on ",
                                     server.grpc.ToString(), ": set \"tls\" too"));
    }
  }
  if (exposed.empty()) return absl::OkStatus();
  const auto& [field, address] = exposed.front();
  if (config.insecure || (config.tls && config.auth)) return absl::OkStatus();
  const char* missing = config.tls ? "\"auth\"" : config.auth ? "\"tls\"" : "\"tls\" and \"auth\"";
  return FieldError(field,
                    absl::StrCat(address->ToString(), " is not a loopback address, so ", missing,
                                 " must be set (protected mode; "
                                 "\"insecure\": true lifts it)"));
}

std::string HostPort::ToString() const {
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                             : absl::StrCat(host, ":", port);
}

const ServerConfig* HerdConfig::Find(std::string_view name) const {
  for (const ServerConfig& server : servers) {
    if (server.name == name) return &server;
  }
  return nullptr;
}

std::vector<std::string> HerdConfig::NeighboursOf(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [a, b] : links) {
    if (a == name) out.push_back(b);
    if (b == name) out.push_back(a);
  }
  return out;
}

absl::StatusOr<HostPort> ParseHostPort(std::string_view text) {
  const auto malformed = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", AsAbsl(text), "\" is not HOST:PORT (port 1-65535)"));
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return malformed();
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  HostPort out;
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return malformed();
  }
  out.port = static_cast<uint16_t>(port);
  boost::system::error_code bad;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return malformed();
    host = host.substr(1, host.size() - 2);
    boost::asio::ip::make_address_v6(std::string(host), bad);
  } else if (LooksNumeric(host)) {
    boost::asio::ip::make_address_v4(std::string(host), bad);
  } else if (!IsHostName(host)) {
    return malformed();
  }
  if (bad) return malformed();
  out.host = std::string(host);
  return out;
}

absl::StatusOr<HerdConfig> ParseConfig(std::string_view json_text, const std::string& base_dir) {
  const json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!root.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  HerdConfig config;
  for (absl::Status s :
       {ParseServers(root, &config), ParseLinks(root, &config),
        ParsePlaces(root, base_dir, &config.places), ParseEdge(root, &config.edge),
        ParseLog(root, base_dir, &config.log), ParseTls(root, base_dir, &config.tls),
        ParseAuth(root, &config.auth), ParseTrustSwitches(root, &config),
        ParseEdgeLimits(root, &config.edge), ParseStore(root, &config.store),
        ParseGrpcLimits(root, &config.grpc_limits), ParseFences(root, &config.fences),
        ParseDurability(root, base_dir, &config)}) {
    if (!s.ok()) return s;
  }
  for (const ServerConfig& server : config.servers) {
    if (server.edge_tls && !config.tls) {
      return FieldError(absl::StrCat("servers[", server.index, "].edge_tls"),
                        "needs \"tls\" (the server's certificate)");
    }
  }
  return config;
}

absl::StatusOr<HerdConfig> LoadConfig(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  if (file) text << file.rdbuf();
  if (!file || file.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read the config file"));
  }
  const std::filesystem::path absolute = std::filesystem::absolute(path);
  absl::StatusOr<HerdConfig> config = ParseConfig(text.str(), absolute.parent_path().string());
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", config.status().message()));
  }
  config->path = absolute.string();
  return config;
}

}  // namespace herd
