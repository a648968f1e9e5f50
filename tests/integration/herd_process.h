#ifndef HERD_TESTS_INTEGRATION_HERD_PROCESS_H_
#define HERD_TESTS_INTEGRATION_HERD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/ports.h"
#include "tests/testing/wait.h"

namespace herd::testing {

// The default herd of the spec: five servers, six links.
inline const std::vector<std::string> kDefaultHerdNames = {"Riley", "Jaquez", "Juzang", "Campbell",
                                                           "Bernard"};
inline const std::vector<std::pair<std::string, std::string>> kDefaultHerdLinks = {
    {"Riley", "Jaquez"},   {"Riley", "Juzang"},     {"Bernard", "Jaquez"},
    {"Bernard", "Juzang"}, {"Bernard", "Campbell"}, {"Juzang", "Campbell"}};

// The first line of `text`, without its '\n'.
inline std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// Sends `text` to 127.0.0.1:port, half-closes, and reads to EOF.
std::string Exchange(uint16_t port, const std::string& text);

// Whether something accepts connections on 127.0.0.1:port.
bool Accepting(uint16_t port);

// The result of running the herd binary to completion.
struct RunResult {
  int exit_status = -1;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs `herd ARGS...` to completion (with a deadline) and captures its
// stdout and stderr.
RunResult RunHerd(const std::vector<std::string>& args);

// A herd of real `herd serve` processes from a generated config, in a
// temporary folder. Its ports (edge, grpc and metrics, and any MorePorts)
// are ReservedPorts held for the herd's life, so a restarted server gets
// its port back and nothing else on the machine takes one meanwhile.
// Servers can be killed and restarted.
// Not thread-safe; kills every process it started when destroyed.
class HerdProcesses {
 public:
  // `names` with `links` between them; `extra` is merged into the config.
  HerdProcesses(const std::vector<std::string>& names,
                const std::vector<std::pair<std::string, std::string>>& links,
                const nlohmann::json& extra = nlohmann::json::object());
  ~HerdProcesses();
  HerdProcesses(const HerdProcesses&) = delete;
  HerdProcesses& operator=(const HerdProcesses&) = delete;

  // Starts server `name` and waits until its edge and gRPC ports accept
  // connections.
  bool Start(const std::string& name);
  bool StartAll();
  // Sends `signal` and waits for the process to end; its exit status, or
  // 128 + the signal that ended it (-1 if the server was not running).
  int Stop(const std::string& name, int signal);
  // Sends `signal` (SIGSTOP, SIGCONT...) without waiting.
  void Signal(const std::string& name, int signal);
  // The CS 131 graders' restart: sends `signal`, waits `pause` (not for
  // the process to end), starts the server again, and waits until its
  // edge accepts connections; false if it did not come up. The old process
  // is reaped afterwards.
  bool RestartAfter(const std::string& name, int signal, std::chrono::milliseconds pause);
  // Whether the server's latest process has exited (reaping it if so).
  bool Exited(const std::string& name);

  uint16_t edge_port(const std::string& name) const { return edge_ports_.at(name); }
  // The process id of a started server, 0 if none.
  pid_t pid(const std::string& name) const {
    const auto it = pids_.find(name);
    return it == pids_.end() ? 0 : it->second;
  }
  uint16_t grpc_port(const std::string& name) const { return grpc_ports_.at(name); }
  uint16_t metrics_port(const std::string& name) const { return metrics_ports_.at(name); }
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  const std::vector<std::string>& names() const { return names_; }
  // `count` more ports held for the herd's life (for config edits: a peer,
  // health or TLS port).
  std::vector<uint16_t> MorePorts(int count);

 private:
  std::vector<std::string> names_;
  std::string dir_;
  std::string config_path_;
  std::map<std::string, uint16_t> edge_ports_;
  std::map<std::string, uint16_t> grpc_ports_;
  std::map<std::string, uint16_t> metrics_ports_;
  std::map<std::string, pid_t> pids_;
  std::vector<ReservedPort> reserved_;
};

}  // namespace herd::testing

#endif  // HERD_TESTS_INTEGRATION_HERD_PROCESS_H_
