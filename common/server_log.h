#ifndef HERD_COMMON_SERVER_LOG_H_
#define HERD_COMMON_SERVER_LOG_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace herd {

// A server's log file: every line in and reply out, peer connections, errors.
//
// Off the hot path: a caller formats its line into one of a few in-memory
// buffers (chosen by thread, so one connection's lines stay in order) under
// that buffer's own mutex, and returns: no system call, no wake-up. A writer
// thread moves the buffers to the file every 50 ms, at once for warnings
// and errors. A buffer holds at most `max_buffer_bytes`; lines beyond that
// are dropped and counted (the count is logged) rather than blocking or
// growing. The file rotates at `max_file_bytes`, keeping `max_files` older
// ones (NAME.log.1 is the newest), so the disk use is bounded.
//
// Thread-safe.
class ServerLog {
 public:
  struct Options {
    size_t max_file_bytes = 64 << 20;
    size_t max_files = 3;
    size_t max_buffer_bytes = 4 << 20;  // per buffer
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
  void Info(fmt::format_string<Args...> format, Args&&... args) {
    Write('I', format, fmt::make_format_args(args...));
  }
  template <typename... Args>
  void Warn(fmt::format_string<Args...> format, Args&&... args) {
    Write('W', format, fmt::make_format_args(args...));
  }
  template <typename... Args>
  void Error(fmt::format_string<Args...> format, Args&&... args) {
    Write('E', format, fmt::make_format_args(args...));
  }

  // An info line made of `pieces` back to back: no formatting at all, for
  // the hottest lines (every edge request and reply).
  void InfoPieces(std::initializer_list<std::string_view> pieces) { Append('I', {pieces}); }
  // Several such lines at once, with one timestamp (a request and its reply).
  void InfoLines(std::initializer_list<std::initializer_list<std::string_view>> lines) {
    Append('I', lines);
  }

  // Returns once everything logged before the call is in the file.
  void Flush();

  // Lines written to the file, and lines dropped because the log could not
  // keep up, since Open (for metrics).
  uint64_t lines_written() const { return lines_written_.load(std::memory_order_relaxed); }
  uint64_t lines_dropped() const { return lines_dropped_.load(std::memory_order_relaxed); }

 private:
  static constexpr int kBuffers = 8;

  struct Buffer {
    absl::Mutex mu;
    std::string text ABSL_GUARDED_BY(mu);
    uint64_t dropped ABSL_GUARDED_BY(mu) = 0;
    int64_t cached_second ABSL_GUARDED_BY(mu) = -1;  // for the timestamp prefix
    char cached_prefix[24] ABSL_GUARDED_BY(mu) = {};  // "2026-11-25T19:40:01."
    // The text being written out, swapped with `text` at each drain. Both
    // keep their capacity, so a busy thread's buffer stops growing (and
    // copying itself) after its first drains. Used by the writer thread
    // only.
    std::string draining;
  };

  ServerLog(int fd, std::string path, const Options& options);

  void Write(char level, fmt::string_view format, fmt::format_args args);
  // Appends timestamped lines, each made of its pieces, to this thread's
  // buffer.
  void Append(char level, std::initializer_list<std::initializer_list<std::string_view>> lines);
  void WriterLoop();
  // Moves every buffer to the file; returns lines dropped since the last call.
  uint64_t Drain();
  void WriteToFile(const std::string& text);
  void Rotate();

  // Constant after construction.
  const std::string path_;
  const Options options_;
  const bool discard_;

  std::array<Buffer, kBuffers> buffers_;

  absl::Mutex writer_mu_;
  bool stopping_ ABSL_GUARDED_BY(writer_mu_) = false;
  bool urgent_ ABSL_GUARDED_BY(writer_mu_) = false;
  uint64_t flush_requested_ ABSL_GUARDED_BY(writer_mu_) = 0;
  uint64_t flush_done_ ABSL_GUARDED_BY(writer_mu_) = 0;

  // Used by the writer thread only.
  int fd_;
  size_t file_bytes_ = 0;

  std::atomic<uint64_t> lines_written_{0};
  std::atomic<uint64_t> lines_dropped_{0};

  std::thread writer_;
};

}  // namespace herd

#endif  // HERD_COMMON_SERVER_LOG_H_
