#include "common/server_log.h"

#include <filesystem>
#include <system_error>

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace herd {

ServerLog::ServerLog(std::shared_ptr<spdlog::logger> logger,
                     std::shared_ptr<spdlog::details::thread_pool> pool)
    : pool_(std::move(pool)), logger_(std::move(logger)) {
  if (pool_ != nullptr) flusher_ = std::thread([this] { FlushPeriodically(); });
}

ServerLog::~ServerLog() {
  if (flusher_.joinable()) {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    flusher_.join();
    logger_->flush();
  }
  logger_.reset();  // before the pool that serves it
}

void ServerLog::FlushPeriodically() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Seconds(1));
    logger_->flush();  // only queues a flush request for the writer thread
  }
}

absl::StatusOr<std::unique_ptr<ServerLog>> ServerLog::Open(
    const std::string& path, const Options& options) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("log_dir: cannot create ", dir.string(), ": ", ec.message()));
  }
  std::shared_ptr<spdlog::sinks::rotating_file_sink_mt> sink;
  try {
    sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        path, options.max_file_bytes, options.max_files);
  } catch (const spdlog::spdlog_ex& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("log_dir: cannot open ", path, ": ", e.what()));
  }
  auto pool = std::make_shared<spdlog::details::thread_pool>(
      options.queue_messages, /*threads_n=*/1);
  auto logger = std::make_shared<spdlog::async_logger>(
      "herd", std::move(sink), pool, spdlog::async_overflow_policy::overrun_oldest);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %L %v", spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::warn);
  return std::unique_ptr<ServerLog>(new ServerLog(std::move(logger), std::move(pool)));
}

std::unique_ptr<ServerLog> ServerLog::Discard() {
  auto logger = std::make_shared<spdlog::logger>(
      "discard", std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_level(spdlog::level::off);
  return std::unique_ptr<ServerLog>(new ServerLog(std::move(logger), nullptr));
}

void ServerLog::Flush() { logger_->flush(); }

}  // namespace herd
