#ifndef HERD_COMMON_SERVER_LOG_H_
#define HERD_COMMON_SERVER_LOG_H_

#include <cstddef>
#include <memory>
#include <thread>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace herd {

// A server's log file: every line in and reply out, peer connections, errors.
//
// Off the hot path: callers only format the message and push it on a bounded
// queue; one background thread writes it. When the queue is full the oldest
// message is dropped rather than blocking the caller. The file rotates at
// `max_file_bytes`, keeping `max_files` old files, so the disk use is bounded.
// What is queued reaches the file within about a second (a flusher thread),
// warnings and errors at once.
//
// Thread-safe.
class ServerLog {
 public:
  struct Options {
    size_t max_file_bytes = 64 << 20;
    size_t max_files = 3;
    size_t queue_messages = 1 << 16;
  };

  // Opens (creating the directory if needed) `path` for appending.
  static absl::StatusOr<std::unique_ptr<ServerLog>> Open(const std::string& path,
                                                         const Options& options);
  // A log that discards everything (tests that do not look at logs).
  static std::unique_ptr<ServerLog> Discard();

  ServerLog(const ServerLog&) = delete;
  ServerLog& operator=(const ServerLog&) = delete;
  ~ServerLog();

  template <typename... Args>
  void Info(spdlog::format_string_t<Args...> format, Args&&... args) {
    logger_->info(format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Warn(spdlog::format_string_t<Args...> format, Args&&... args) {
    logger_->warn(format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Error(spdlog::format_string_t<Args...> format, Args&&... args) {
    logger_->error(format, std::forward<Args>(args)...);
  }

  // Waits until everything logged so far is written (tests, shutdown).
  void Flush();

 private:
  explicit ServerLog(std::shared_ptr<spdlog::logger> logger,
                     std::shared_ptr<spdlog::details::thread_pool> pool);
  void FlushPeriodically();

  std::shared_ptr<spdlog::details::thread_pool> pool_;  // outlives logger_
  std::shared_ptr<spdlog::logger> logger_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread flusher_;  // only for a real file
};

}  // namespace herd

#endif  // HERD_COMMON_SERVER_LOG_H_
