#ifndef HERD_APP_HOUSEKEEPER_H_
#define HERD_APP_HOUSEKEEPER_H_

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace herd {

// A thread of its own for a server's periodic chores that may take a while
// or block (forgetting expired clients, probing the gRPC listener), so
// they never run on an Asio thread or in a gRPC reaction. Each task runs
// every `interval`, in the order added.
//
// Thread-safe. Add() before Start(); Stop() (also run by the destructor)
// joins the thread, after which no task runs.
class Housekeeper {
 public:
  using Task = std::function<void()>;

  Housekeeper() = default;
  Housekeeper(const Housekeeper&) = delete;
  Housekeeper& operator=(const Housekeeper&) = delete;
  ~Housekeeper() { Stop(); }

  void Add(std::chrono::milliseconds interval, Task task);
  void Start();
  void Stop();

 private:
  struct Entry {
    std::chrono::milliseconds interval;
    Task task;
    std::chrono::steady_clock::time_point next;
  };

  void Loop();

  std::vector<Entry> entries_;  // fixed once started; used by the thread
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace herd

#endif  // HERD_APP_HOUSEKEEPER_H_
