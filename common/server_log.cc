#include "common/server_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/escape.h"

namespace herd {
namespace {

constexpr absl::Duration kWriteInterval = absl::Milliseconds(50);

int OpenForAppend(const std::string& path) {
  return open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

}  // namespace

ServerLog::ServerLog(int fd, std::string path, const Options& options)
    : path_(std::move(path)), options_(options), discard_(fd < 0), fd_(fd) {
  if (discard_) return;
  struct stat info;
  if (fstat(fd_, &info) == 0) file_bytes_ = static_cast<size_t>(info.st_size);
  writer_ = std::thread([this] { WriterLoop(); });
}

ServerLog::~ServerLog() {
  if (discard_) return;
  {
    absl::MutexLock lock(&writer_mu_);
    stopping_ = true;
  }
  writer_.join();
  close(fd_);
}

absl::StatusOr<std::unique_ptr<ServerLog>> ServerLog::Open(const std::string& path,
                                                           const Options& options) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("log_dir: cannot create ", dir.string(), ": ", ec.message()));
  }
  const int fd = OpenForAppend(path);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("log_dir: cannot open ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<ServerLog>(new ServerLog(fd, path, options));
}

std::unique_ptr<ServerLog> ServerLog::Discard() {
  return std::unique_ptr<ServerLog>(new ServerLog(-1, "", Options{}));
}

void ServerLog::Write(char level, fmt::string_view format, fmt::format_args args) {
  if (discard_) return;
  // Formatted outside every lock, into this thread's reusable buffer.
  thread_local fmt::memory_buffer message;
  message.clear();
  fmt::vformat_to(fmt::appender(message), format, args);
  Append(level, {{std::string_view(message.data(), message.size())}});
}

void ServerLog::Append(char level,
                       std::initializer_list<std::initializer_list<std::string_view>> lines) {
  if (discard_) return;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  Buffer& buffer = buffers_[std::hash<std::thread::id>{}(std::this_thread::get_id()) % kBuffers];
  {
    absl::MutexLock lock(&buffer.mu);
    if (buffer.text.size() >= options_.max_buffer_bytes) {
      buffer.dropped += lines.size();
      return;
    }
    if (buffer.cached_second != now.tv_sec) {
      tm utc;
      gmtime_r(&now.tv_sec, &utc);
      std::strftime(buffer.cached_prefix, sizeof buffer.cached_prefix, "%Y-%m-%dT%H:%M:%S.", &utc);
      buffer.cached_second = now.tv_sec;
    }
    // "2026-11-25T19:40:01.123456Z I message\n"
    char micros[10] = {'0', '0', '0', '0', '0', '0', 'Z', ' ', level, ' '};
    for (long value = now.tv_nsec / 1000, i = 5; i >= 0; --i, value /= 10) {
      micros[i] = static_cast<char>('0' + value % 10);
    }
    for (const std::initializer_list<std::string_view>& pieces : lines) {
      buffer.text.append(buffer.cached_prefix);
      buffer.text.append(micros, sizeof micros);
      // Client text may hold control bytes: escaped, so no line can fake
      // another or drive a terminal (IAMAT ids cannot, `? LINE` echoes can).
      for (std::string_view piece : pieces) AppendEscaped(piece, &buffer.text);
      buffer.text.push_back('\n');
    }
  }
  if (level != 'I') {
    absl::MutexLock lock(&writer_mu_);
    urgent_ = true;
  }
}

void ServerLog::Flush() {
  if (discard_) return;
  absl::MutexLock lock(&writer_mu_);
  struct Wait {
    const uint64_t* done;
    uint64_t ticket;
  } wait{&flush_done_, ++flush_requested_};
  writer_mu_.Await(absl::Condition(
      +[](Wait* w) { return *w->done >= w->ticket; }, &wait));
}

void ServerLog::WriterLoop() {
  for (;;) {
    bool stopping;
    uint64_t flush_target;
    {
      absl::MutexLock lock(&writer_mu_);
      writer_mu_.AwaitWithTimeout(absl::Condition(
                                      +[](ServerLog* log) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                        return log->stopping_ || log->urgent_ ||
                                               log->flush_requested_ > log->flush_done_;
                                      },
                                      this),
                                  kWriteInterval);
      stopping = stopping_;
      urgent_ = false;
      flush_target = flush_requested_;
    }
    if (const uint64_t dropped = Drain(); dropped > 0) {
      lost_lines_.fetch_add(dropped, std::memory_order_relaxed);
      WriteToFile(fmt::format("{} lines dropped: the log could not keep up\n", dropped));
    }
    if (unreported_ > 0) {
      const uint64_t lost = unreported_;
      unreported_ = 0;
      WriteToFile(fmt::format("{} lines lost: the log file could not take them ({})\n", lost,
                              std::strerror(last_errno_)));
      if (unreported_ > 0) {
        // The disk is still full: the report waits for the next round and
        // is not itself a lost line.
        unreported_ += lost - 1;
        lost_lines_.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    {
      absl::MutexLock lock(&writer_mu_);
      flush_done_ = flush_target;
    }
    if (stopping) return;
  }
}

uint64_t ServerLog::Drain() {
  uint64_t dropped = 0;
  for (Buffer& buffer : buffers_) {
    {
      absl::MutexLock lock(&buffer.mu);
      buffer.draining.swap(buffer.text);
      dropped += buffer.dropped;
      buffer.dropped = 0;
    }
    WriteToFile(buffer.draining);
    // Counted by the writer thread, off every logging thread's path.
    lines_written_.fetch_add(std::count(buffer.draining.begin(), buffer.draining.end(), '\n'),
                             std::memory_order_relaxed);
    buffer.draining.clear();  // keeps its capacity, bounded by max_buffer_bytes and a line
  }
  return dropped;
}

void ServerLog::WriteToFile(std::string_view text) {
  const size_t max = options_.max_file_bytes;
  while (!text.empty()) {
    const size_t room = file_bytes_ < max ? max - file_bytes_ - (mid_line_ ? 1 : 0) : 0;
    if (text.size() <= room) {
      WriteChunk(text);
      return;
    }
    // The whole lines that fit go to this file, the rest to the next one.
    const size_t last = room == 0 ? std::string_view::npos : text.rfind('\n', room - 1);
    if (last != std::string_view::npos) {
      WriteChunk(text.substr(0, last + 1));
      text.remove_prefix(last + 1);
    } else if (file_bytes_ == 0 && !mid_line_) {
      // One line longer than a whole file: its head, marked as cut.
      const size_t end = text.find('\n');
      const size_t keep = max > 4 ? max - 4 : 0;
      WriteChunk(std::string(text.substr(0, keep)) + "...\n");
      text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
      continue;
    }
    if (!Rotate()) {
      // Nowhere to write: lose the rest rather than pass the bound.
      const auto lost = static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
      lost_lines_.fetch_add(lost, std::memory_order_relaxed);
      unreported_ += lost;
      return;
    }
  }
}

bool ServerLog::WriteChunk(std::string_view text) {
  const auto write_fn = [this](const char* data, size_t size) -> ssize_t {
    return options_.write ? options_.write(fd_, data, size) : write(fd_, data, size);
  };
  // A line cut short by an earlier failure is ended first, so the next
  // line starts on a line of its own.
  if (mid_line_) {
    if (write_fn("\n", 1) != 1) {
      last_errno_ = errno;
      const auto lost = static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
      lost_lines_.fetch_add(lost, std::memory_order_relaxed);
      unreported_ += lost;
      return false;
    }
    mid_line_ = false;
    ++file_bytes_;
  }
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write_fn(text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  // Counted even when the write fails half-way, so the bound holds.
  file_bytes_ += written;
  if (written == text.size()) return true;
  // Disk full or gone: lose the rest of this batch, keep serving.
  last_errno_ = errno != 0 ? errno : ENOSPC;
  const std::string_view rest = text.substr(written);
  const auto lost = static_cast<uint64_t>(std::count(rest.begin(), rest.end(), '\n'));
  lost_lines_.fetch_add(lost, std::memory_order_relaxed);
  unreported_ += lost;
  mid_line_ = written > 0 && text[written - 1] != '\n';
  return false;
}

bool ServerLog::Rotate() {
  // NAME.log.(N-1) -> NAME.log.N ... NAME.log -> NAME.log.1
  for (size_t i = options_.max_files; i > 1; --i) {
    std::rename((path_ + "." + std::to_string(i - 1)).c_str(),
                (path_ + "." + std::to_string(i)).c_str());
  }
  if (options_.max_files > 0) {
    std::rename(path_.c_str(), (path_ + ".1").c_str());
  } else {
    std::remove(path_.c_str());
  }
  const int fd = OpenForAppend(path_);
  if (fd < 0) return false;
  close(fd_);
  fd_ = fd;
  file_bytes_ = 0;
  mid_line_ = false;
  return true;
}

}  // namespace herd
