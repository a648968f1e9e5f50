// herd-wakeup: what one thread waking another costs on this machine, the
// unit behind every hand-off in the herd (an edge thread to gRPC's, gRPC's
// callback threads to each other, one server to the next). Two threads
// bounce a byte through a pair of pipes --rounds times; each round trip is
// two wake-ups. Prints, per wake-up, wall time and CPU time (the process's
// user + system time, both threads), for three placements: wherever the
// scheduler puts them, both on one CPU, and on two different CPUs.
//
//   build/bench/herd-wakeup
//   build/bench/herd-wakeup --rounds 50000

#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

namespace herd::bench {
namespace {

struct Figures {
  double wall_us;  // per wake-up
  double cpu_us;   // per wake-up, both threads
};

double CpuMicros() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

// Pins the calling thread to `cpu`, if one is given and the machine has it.
bool PinTo(std::optional<int> cpu) {
  if (!cpu) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(*cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

// Bounces one byte `rounds` times between this thread and another, each
// pinned as asked. nullopt if a pipe or a pin failed.
std::optional<Figures> Bounce(int rounds, std::optional<int> here, std::optional<int> there) {
  int to_other[2], to_here[2];
  if (pipe(to_other) != 0) return std::nullopt;
  if (pipe(to_here) != 0) {
    close(to_other[0]);
    close(to_other[1]);
    return std::nullopt;
  }
  bool pinned = true;
  std::thread other([&] {
    pinned = PinTo(there) && pinned;
    char byte;
    for (int i = 0; i < rounds; ++i) {
      if (read(to_other[0], &byte, 1) != 1 || write(to_here[1], &byte, 1) != 1) break;
    }
  });
  std::optional<Figures> figures;
  if (PinTo(here)) {
    char byte = 'x';
    const double cpu_before = CpuMicros();
    const auto start = std::chrono::steady_clock::now();
    int done = 0;
    for (; done < rounds; ++done) {
      if (write(to_other[1], &byte, 1) != 1 || read(to_here[0], &byte, 1) != 1) break;
    }
    const double wall =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    const double cpu = CpuMicros() - cpu_before;
    if (done == rounds) figures = Figures{wall / (2.0 * rounds), cpu / (2.0 * rounds)};
  }
  close(to_other[1]);  // ends the other thread's loop if this one stopped early
  other.join();
  for (int fd : {to_other[0], to_here[0], to_here[1]}) close(fd);
  if (!pinned) return std::nullopt;
  return figures;
}

void Print(const char* placement, const std::optional<Figures>& figures) {
  if (!figures) {
    std::printf("%-26s not measured (no such CPU, or pinning refused)\n", placement);
    return;
  }
  std::printf("%-26s %7.1f us wall  %6.1f us CPU  per wake-up\n", placement, figures->wall_us,
              figures->cpu_us);
}

int Run(int argc, char** argv) {
  CLI::App app{"herd-wakeup: the cost of one thread waking another on this machine"};
  int rounds = 20000;
  app.add_option("--rounds", rounds, "round trips per placement")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const std::optional<Figures> anywhere = Bounce(rounds, std::nullopt, std::nullopt);
  const std::optional<Figures> same = Bounce(rounds, 0, 0);
  const std::optional<Figures> apart =
      std::thread::hardware_concurrency() > 1 ? Bounce(rounds, 0, 1) : std::nullopt;
  Print("threads anywhere", anywhere);
  Print("threads on one CPU", same);
  Print("threads on two CPUs", apart);
  std::printf("RESULT anywhere_us=%.1f one_cpu_us=%.1f two_cpus_us=%.1f\n",
              anywhere ? anywhere->wall_us : -1.0, same ? same->wall_us : -1.0,
              apart ? apart->wall_us : -1.0);
  return anywhere ? 0 : 1;
}

}  // namespace
}  // namespace herd::bench

int main(int argc, char** argv) { return herd::bench::Run(argc, argv); }
