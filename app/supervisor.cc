#include "app/supervisor.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>

namespace herd {
namespace {

pid_t Spawn(const std::string& binary, const std::string& name, const std::string& config_path,
            const sigset_t& original_mask) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // A server dies with `herd up`, even when that is SIGKILLed and cannot stop
  // it: SIGTERM when the parent goes, so the server still stops cleanly. If
  // the parent died before this line, getppid() already names another
  // process and the signal would never come.
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(1);
  sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  execl(binary.c_str(), binary.c_str(), "serve", name.c_str(), "--config", config_path.c_str(),
        static_cast<char*>(nullptr));
  std::perror("herd up: exec");
  _exit(127);
}

std::string Describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

// Sends SIGTERM, waits up to `grace`, then SIGKILLs what is left.
void StopAll(std::map<pid_t, std::string>& children, std::chrono::seconds grace) {
  for (const auto& [pid, name] : children) kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!children.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      children.erase(pid);
      continue;
    }
    if (pid < 0 || std::chrono::steady_clock::now() > deadline) break;
    timespec pause{0, 20'000'000};  // polling a child's exit, not synchronising
    nanosleep(&pause, nullptr);
  }
  for (const auto& [pid, name] : children) {
    std::fprintf(stderr, "herd up: %s did not stop, killing it\n", name.c_str());
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  children.clear();
}

}  // namespace

int RunHerd(const std::string& herd_binary, const std::string& config_path,
            const std::vector<std::string>& names) {
  sigset_t handled, original;
  sigemptyset(&handled);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGCHLD);
  sigprocmask(SIG_BLOCK, &handled, &original);

  std::map<pid_t, std::string> children;
  for (const std::string& name : names) {
    children[Spawn(herd_binary, name, config_path, original)] = name;
  }
  std::fprintf(stderr, "herd up: started %zu servers from %s; Ctrl-C stops them\n", names.size(),
               config_path.c_str());
  int exit_status = 0;
  for (;;) {
    int signal = 0;
    sigwait(&handled, &signal);
    if (signal != SIGCHLD) {
      std::fprintf(stderr, "herd up: stopping\n");
      break;
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      std::fprintf(stderr, "herd up: %s %s\n", children[pid].c_str(), Describe(status).c_str());
      children.erase(pid);
      exit_status = 1;
    }
    if (children.empty()) break;
  }
  StopAll(children, std::chrono::seconds(10));
  return exit_status;
}

}  // namespace herd
