#ifndef HERD_COMMON_SERVER_LOG_H_
#define HERD_COMMON_SERVER_LOG_H_

#include <sys/types.h>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
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
// ones (NAME.log.1 is the newest), so the disk use is bounded. Control
// bytes in a line are escaped (common/escape.h): one event, one line.
//
// Thread-safe.
class ServerLog {
 public:
  struct Options {
    size_t max_file_bytes = 64 << 20;
    size_t max_files = 3;
    size_t max_buffer_bytes = 4 << 20;  // per buffer
    // How the writer thread writes to the file (a seam for tests that need
    // a full disk); null: write(2).
    std::function<ssize_t(int fd, const char* data, size_t size)> write;
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

  // Lines lost since the start: dropped from a full buffer, or not written
  // because the file could not take them (a full disk). Also logged, as
  // "N lines lost: ...", as soon as the file takes lines again.
  uint64_t lost_lines() const { return lost_lines_.load(std::memory_order_relaxed); }
  // Lines handed to the file since Open (for metrics; lost_lines() says
  // how many of all lines never made it).
  uint64_t lines_written() const { return lines_written_.load(std::memory_order_relaxed); }

 private:
  static constexpr int kBuffers = 8;

  struct Buffer {
    absl::Mutex mu;
    std::string text ABSL_GUARDED_BY(mu);
    uint64_t dropped ABSL_GUARDED_BY(mu) = 0;
    int64_t cached_second ABSL_GUARDED_BY(mu) = -1;   // for the timestamp prefix
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
  // Appends whole lines, rotating before the file would pass max_file_bytes.
  void WriteToFile(std::string_view text);
  // Appends `text` to the current file; what the file refuses is counted
  // as lost. Returns false if anything was lost.
  bool WriteChunk(std::string_view text);
  // False if no new file could be opened.
  bool Rotate();

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

  std::atomic<uint64_t> lost_lines_{0};

  // Used by the writer thread only.
  int fd_;
  size_t file_bytes_ = 0;    // the bytes in the current file, as written
  bool mid_line_ = false;    // a failed write left a partial line in the file
  uint64_t unreported_ = 0;  // lines lost and not yet reported in the file
  int last_errno_ = 0;       // why the last write failed

  std::atomic<uint64_t> lines_written_{0};

  std::thread writer_;
};

}  // namespace herd

#endif  // HERD_COMMON_SERVER_LOG_H_
