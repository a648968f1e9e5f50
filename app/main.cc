// herd: the command line. `herd serve NAME` runs one server of the herd,
// `herd up` runs all of them.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <curl/curl.h>
#include <CLI/CLI.hpp>

#include "absl/synchronization/mutex.h"
#include "app/config.h"
#include "app/herd_server.h"
#include "app/supervisor.h"

namespace {

constexpr int kUsageError = 2;

std::string SelfPath(const char* argv0) {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(argv0) : path.string();
}

absl::StatusOr<herd::HerdConfig> LoadOrExplain(const std::string& path) {
  absl::StatusOr<herd::HerdConfig> config = herd::LoadConfig(path);
  if (!config.ok()) {
    std::fprintf(stderr, "herd: %s\n", std::string(config.status().message()).c_str());
  }
  return config;
}

int Serve(const std::string& name, const std::string& config_path) {
  // Debian's abseil checks every lock acquisition for deadlock cycles; the
  // lock order is fixed by design here, and the check costs on every request.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<herd::HerdConfig> config = LoadOrExplain(config_path);
  if (!config.ok()) return kUsageError;
  auto server = herd::HerdServer::Create(*config, name, herd::RealTimeNanos);
  if (!server.ok()) {
    std::fprintf(stderr, "herd: %s\n", std::string(server.status().message()).c_str());
    return kUsageError;
  }
  if (absl::Status started = (*server)->Start(); !started.ok()) {
    std::fprintf(stderr, "herd: %s: %s\n", name.c_str(), std::string(started.message()).c_str());
    return 1;
  }
  (*server)->Run();
  return 0;
}

int Up(const char* argv0, const std::string& config_path) {
  absl::StatusOr<herd::HerdConfig> config = LoadOrExplain(config_path);
  if (!config.ok()) return kUsageError;
  std::vector<std::string> names;
  for (const herd::ServerConfig& server : config->servers) names.push_back(server.name);
  return herd::RunHerd(SelfPath(argv0), config->path, names);
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts; cleaned up when main returns, after the server
  // (and its Places provider) is gone.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  struct CurlGlobalCleanup {
    ~CurlGlobalCleanup() { curl_global_cleanup(); }
  } curl_global_cleanup_at_exit;
  CLI::App app{"herd: a server herd for rapidly changing location data"};
  app.set_version_flag("--version", "herd " HERD_VERSION);  // CMake's project(VERSION)
  app.require_subcommand(1);
  std::string config_path = HERD_DEFAULT_CONFIG;
  std::string name;

  CLI::App* serve = app.add_subcommand("serve", "Run one server of the herd");
  serve->add_option("NAME", name, "Server name from the config")->required();
  serve->add_option("--config", config_path, "Herd config file")->capture_default_str();

  CLI::App* up = app.add_subcommand("up", "Run every server of the config, one process each");
  up->add_option("--config", config_path, "Herd config file")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "herd: %s (see herd --help)\n", e.what());
    return kUsageError;
  }
  if (serve->parsed()) return Serve(name, config_path);
  return Up(argv[0], config_path);
}
