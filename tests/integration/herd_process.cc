#include "tests/integration/herd_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

namespace herd::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& args, int stderr_fd, const std::string& cwd,
            int stdout_fd = -1) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphans if the test itself dies
  if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
  const int null_fd = open("/dev/null", O_RDWR);
  dup2(null_fd, STDIN_FILENO);
  dup2(stdout_fd >= 0 ? stdout_fd : null_fd, STDOUT_FILENO);
  dup2(stderr_fd >= 0 ? stderr_fd : null_fd, STDERR_FILENO);
  std::vector<char*> argv;
  std::string binary = HERD_BINARY;
  argv.push_back(binary.data());
  std::vector<std::string> copy = args;
  for (std::string& arg : copy) argv.push_back(arg.data());
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  _exit(127);
}

}  // namespace

bool Accepting(uint16_t port) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return false;
  close(fd);
  return true;
}

std::string Exchange(uint16_t port, const std::string& text) {
  return ExchangeOn(ConnectLoopback(port), text);
}

RunResult RunHerd(const std::vector<std::string>& args) {
  int err_fds[2];
  int out_fds[2];
  if (pipe(err_fds) != 0) return {};
  if (pipe(out_fds) != 0) {
    close(err_fds[0]);
    close(err_fds[1]);
    return {};
  }
  const pid_t pid = Spawn(args, err_fds[1], "", out_fds[1]);
  close(err_fds[1]);
  close(out_fds[1]);
  RunResult result;
  // Both pipes at once, so a child that fills one is never blocked on it.
  pollfd fds[2] = {{out_fds[0], POLLIN, 0}, {err_fds[0], POLLIN, 0}};
  std::string* texts[2] = {&result.stdout_text, &result.stderr_text};
  int open_pipes = 2;
  while (open_pipes > 0 && poll(fds, 2, -1) > 0) {
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        texts[i]->append(buffer, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;  // poll() ignores it from now on
        --open_pipes;
      }
    }
  }
  for (const pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

HerdProcesses::HerdProcesses(const std::vector<std::string>& names,
                             const std::vector<std::pair<std::string, std::string>>& links,
                             const nlohmann::json& extra)
    : names_(names) {
  char pattern[] = "/tmp/herd-test-XXXXXX";
  dir_ = mkdtemp(pattern);
  const std::vector<uint16_t> ports = MorePorts(3 * static_cast<int>(names.size()));
  nlohmann::json config = {{"servers", nlohmann::json::array()},
                           {"links", nlohmann::json::array()},
                           {"places", {{"provider", "offline"}}},
                           {"log_dir", "logs"}};
  for (size_t i = 0; i < names.size(); ++i) {
    edge_ports_[names[i]] = ports[i];
    grpc_ports_[names[i]] = ports[names.size() + i];
    metrics_ports_[names[i]] = ports[2 * names.size() + i];
    config["servers"].push_back(
        {{"name", names[i]},
         {"edge", "127.0.0.1:" + std::to_string(ports[i])},
         {"grpc", "127.0.0.1:" + std::to_string(ports[names.size() + i])},
         {"metrics", "127.0.0.1:" + std::to_string(ports[2 * names.size() + i])}});
  }
  for (const auto& [a, b] : links) config["links"].push_back({a, b});
  config.merge_patch(extra);
  config_path_ = dir_ + "/herd.json";
  std::ofstream(config_path_) << config.dump(2);
}

HerdProcesses::~HerdProcesses() {
  for (const auto& [name, pid] : pids_) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  std::error_code ignored;
  std::system(("rm -rf '" + dir_ + "'").c_str());
}

bool HerdProcesses::Start(const std::string& name) {
  pids_[name] = Spawn({"serve", name, "--config", config_path_}, -1, dir_);
  // The server opens its edge first and its gRPC port next: a test may
  // call either as soon as this returns.
  const uint16_t edge = edge_ports_.at(name);
  const uint16_t grpc = grpc_ports_.at(name);
  return WaitFor([edge] { return Accepting(edge); }) && WaitFor([grpc] { return Accepting(grpc); });
}

bool HerdProcesses::StartAll() {
  bool all = true;
  for (const std::string& name : names_) all = Start(name) && all;
  return all;
}

void HerdProcesses::Signal(const std::string& name, int signal) {
  auto it = pids_.find(name);
  if (it != pids_.end()) kill(it->second, signal);
}

bool HerdProcesses::RestartAfter(const std::string& name, int signal,
                                 std::chrono::milliseconds pause) {
  const pid_t old = pids_.at(name);
  kill(old, signal);
  std::this_thread::sleep_for(pause);  // the scenario's own timing, not a wait for a state
  pids_[name] = Spawn({"serve", name, "--config", config_path_}, -1, dir_);
  const uint16_t port = edge_ports_.at(name);
  const bool up = WaitFor([&] { return !Exited(name) && Accepting(port); });
  waitpid(old, nullptr, 0);
  return up;
}

bool HerdProcesses::Exited(const std::string& name) {
  auto it = pids_.find(name);
  if (it == pids_.end()) return true;
  if (waitpid(it->second, nullptr, WNOHANG) != it->second) return false;
  pids_.erase(it);
  return true;
}

int HerdProcesses::Stop(const std::string& name, int signal) {
  auto it = pids_.find(name);
  if (it == pids_.end()) return -1;
  kill(it->second, signal);
  int status = 0;
  waitpid(it->second, &status, 0);
  pids_.erase(it);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<uint16_t> HerdProcesses::MorePorts(int count) {
  std::vector<uint16_t> ports;
  for (int i = 0; i < count; ++i) {
    reserved_.emplace_back();
    ports.push_back(reserved_.back().port());
  }
  return ports;
}

}  // namespace herd::testing
