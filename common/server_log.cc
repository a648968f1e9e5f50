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
  Buffer& buffer =
      buffers_[std::hash<std::thread::id>{}(std::this_thread::get_id()) % kBuffers];
  {
    absl::MutexLock lock(&buffer.mu);
    if (buffer.text.size() >= options_.max_buffer_bytes) {
      ++buffer.dropped;
      return;
    }
    if (buffer.cached_second != now.tv_sec) {
      tm utc;
      gmtime_r(&now.tv_sec, &utc);
      std::strftime(buffer.cached_prefix, sizeof buffer.cached_prefix, "%Y-%m-%dT%H:%M:%S.",
                    &utc);
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
      for (std::string_view piece : pieces) buffer.text.append(piece);
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
  writer_mu_.Await(absl::Condition(+[](Wait* w) { return *w->done >= w->ticket; }, &wait));
}

void ServerLog::WriterLoop() {
  for (;;) {
    bool stopping;
    uint64_t flush_target;
    {
      absl::MutexLock lock(&writer_mu_);
      writer_mu_.AwaitWithTimeout(
          absl::Condition(+[](ServerLog* log) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return log->stopping_ || log->urgent_ ||
                   log->flush_requested_ > log->flush_done_;
          }, this),
          kWriteInterval);
      stopping = stopping_;
      urgent_ = false;
      flush_target = flush_requested_;
    }
    if (const uint64_t dropped = Drain(); dropped > 0) {
      WriteToFile(fmt::format("{} lines dropped: the log could not keep up\n", dropped));
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
  lines_dropped_.fetch_add(dropped, std::memory_order_relaxed);
  return dropped;
}

void ServerLog::WriteToFile(const std::string& text) {
  if (text.empty()) return;
  if (file_bytes_ + text.size() > options_.max_file_bytes && file_bytes_ > 0) Rotate();
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write(fd_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // disk full or gone: lose this batch, keep serving
    written += static_cast<size_t>(n);
  }
  file_bytes_ += written;
}

void ServerLog::Rotate() {
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
  if (fd < 0) return;  // keep writing to the renamed file rather than nowhere
  close(fd_);
  fd_ = fd;
  file_bytes_ = 0;
}

}  // namespace herd
