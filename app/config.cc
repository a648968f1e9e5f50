#include "app/config.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

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

absl::Status ParseServers(const json& root, HerdConfig* config) {
  const auto it = root.find("servers");
  if (it == root.end() || !it->is_array() || it->empty()) {
    return FieldError("servers", "expected a non-empty array of servers");
  }
  std::set<std::string> names;
  std::set<uint16_t> ports;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& entry = (*it)[i];
    const std::string field = absl::StrCat("servers[", i, "]");
    if (!entry.is_object()) return FieldError(field, "expected an object");
    ServerConfig server;
    std::string edge, grpc;
    for (auto [key, out] : {std::pair{"name", &server.name}, std::pair{"edge", &edge},
                            std::pair{"grpc", &grpc}}) {
      if (!entry.contains(key)) return FieldError(absl::StrCat(field, ".", key), "missing");
      if (absl::Status s = Read(entry, key, field, out); !s.ok()) return s;
    }
    if (server.name.empty() || !IsHostName(server.name)) {
      return FieldError(absl::StrCat(field, ".name"),
                        absl::StrCat("\"", server.name, "\" is not a valid server name"));
    }
    if (!names.insert(server.name).second) {
      return FieldError(absl::StrCat(field, ".name"),
                        absl::StrCat("duplicate server name \"", server.name, "\""));
    }
    for (auto [key, text, out] :
         {std::tuple{"edge", &edge, &server.edge}, std::tuple{"grpc", &grpc, &server.grpc}}) {
      const std::string name = absl::StrCat(AsAbsl(field), ".", key);
      absl::StatusOr<HostPort> address = ParseHostPort(*text);
      if (!address.ok()) return FieldError(name, AsStd(address.status().message()));
      // Two servers on one machine cannot share a port; the herd's ports are
      // checked across hosts too, as a typo guard.
      if (!ports.insert(address->port).second) {
        return FieldError(name, absl::StrCat("duplicate port ", address->port));
      }
      *out = *std::move(address);
    }
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

absl::Status ParsePlaces(const json& root, const std::string& base_dir,
                         PlacesConfig* places) {
  places->gazetteer = DefaultGazetteerPath();
  const auto it = root.find("places");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("places", "expected an object");
  for (auto [key, out] : {std::pair{"provider", &places->provider},
                          std::pair{"endpoint", &places->endpoint},
                          std::pair{"api_key_env", &places->api_key_env},
                          std::pair{"gazetteer", &places->gazetteer}}) {
    if (absl::Status s = Read(*it, key, "places", out); !s.ok()) return s;
  }
  if (absl::Status s = Read(*it, "timeout_ms", "places", &places->timeout_ms); !s.ok()) {
    return s;
  }
  for (auto [key, out] : {std::pair{"cache_entries", &places->cache_entries},
                          std::pair{"max_in_flight", &places->max_in_flight}}) {
    if (absl::Status s = Read(*it, key, "places", out); !s.ok()) return s;
  }
  // These two may also be 0 (no caching; no waiting for a slot).
  int64_t ttl = places->cache_ttl_ms, queued = static_cast<int64_t>(places->max_queued);
  for (auto [key, out] : {std::pair{"cache_ttl_ms", &ttl}, std::pair{"max_queued", &queued}}) {
    const auto value = it->find(key);
    if (value == it->end()) continue;
    if (!value->is_number_integer() || value->get<int64_t>() < 0 ||
        value->get<int64_t>() > std::numeric_limits<int>::max()) {
      return FieldError(absl::StrCat("places.", key), "expected an integer >= 0");
    }
    *out = value->get<int64_t>();
  }
  places->cache_ttl_ms = static_cast<int>(ttl);
  places->max_queued = static_cast<size_t>(queued);
  static const std::set<std::string> kProviders = {"auto", "google", "google-legacy",
                                                   "offline"};
  if (!kProviders.contains(places->provider)) {
    return FieldError("places.provider",
                      absl::StrCat("\"", places->provider,
                                   "\" is not one of auto, google, google-legacy, offline"));
  }
  if (places->api_key_env.empty()) return FieldError("places.api_key_env", "empty");
  places->gazetteer = Resolve(base_dir, places->gazetteer);
  return absl::OkStatus();
}

absl::Status ParseEdge(const json& root, EdgeConfig* edge) {
  const auto it = root.find("edge");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("edge", "expected an object");
  for (auto [key, out] : {std::pair{"max_line_bytes", &edge->max_line_bytes},
                          std::pair{"max_connections", &edge->max_connections}}) {
    if (absl::Status s = Read(*it, key, "edge", out); !s.ok()) return s;
  }
  for (auto [key, out] : {std::pair{"idle_timeout_ms", &edge->idle_timeout_ms},
                          std::pair{"threads", &edge->threads}}) {
    if (absl::Status s = Read(*it, key, "edge", out); !s.ok()) return s;
  }
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
  for (auto [key, out] : {std::pair{"max_file_bytes", &log->max_file_bytes},
                          std::pair{"max_files", &log->max_files}}) {
    if (absl::Status s = Read(*it, key, "log", out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Reads json[key] as an integer in [0, max] if present ("0" switches a
// limit off where the docs say so).
template <typename T>
absl::Status ReadNonNegative(const json& object, const char* key, std::string_view field,
                             T* out, int64_t max = std::numeric_limits<int>::max()) {
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
  if (absl::Status s = Read(*it, "line_timeout_ms", "edge", &edge->line_timeout_ms); !s.ok()) {
    return s;
  }
  return ReadNonNegative(*it, "max_connections_per_ip", "edge", &edge->max_connections_per_ip);
}

absl::Status ParseStore(const json& root, StoreConfig* store) {
  const auto it = root.find("store");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("store", "expected an object");
  if (absl::Status s = ReadNonNegative(*it, "max_clients", "store", &store->max_clients,
                                       int64_t{1} << 40);
      !s.ok()) {
    return s;
  }
  // Up to about 30 years: the expiry is computed in nanoseconds.
  return ReadNonNegative(*it, "client_ttl_s", "store", &store->client_ttl_s, int64_t{1} << 30);
}

absl::Status ParseGrpcLimits(const json& root, GrpcLimitsConfig* grpc) {
  const auto it = root.find("grpc");
  if (it == root.end()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("grpc", "expected an object");
  for (auto [key, out] : {std::pair{"max_watch_streams", &grpc->max_watch_streams},
                          std::pair{"max_watch_streams_per_caller",
                                    &grpc->max_watch_streams_per_caller},
                          std::pair{"max_watch_filter_ids", &grpc->max_watch_filter_ids},
                          std::pair{"max_watch_filter_bytes", &grpc->max_watch_filter_bytes},
                          std::pair{"max_concurrent_streams", &grpc->max_concurrent_streams},
                          std::pair{"memory_bytes", &grpc->memory_bytes}}) {
    if (absl::Status s = Read(*it, key, "grpc", out); !s.ok()) return s;
  }
  return Read(*it, "max_threads", "grpc", &grpc->max_threads);
}

}  // namespace

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

absl::StatusOr<HerdConfig> ParseConfig(std::string_view json_text,
                                       const std::string& base_dir) {
  const json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!root.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  HerdConfig config;
  for (absl::Status s : {ParseServers(root, &config), ParseLinks(root, &config),
                         ParsePlaces(root, base_dir, &config.places),
                         ParseEdge(root, &config.edge),
                         ParseLog(root, base_dir, &config.log),
                         ParseEdgeLimits(root, &config.edge), ParseStore(root, &config.store),
                         ParseGrpcLimits(root, &config.grpc_limits)}) {
    if (!s.ok()) return s;
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
  absl::StatusOr<HerdConfig> config =
      ParseConfig(text.str(), absolute.parent_path().string());
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", config.status().message()));
  }
  config->path = absolute.string();
  return config;
}

}  // namespace herd
