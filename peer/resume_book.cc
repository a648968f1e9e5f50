#include "peer/resume_book.h"

#include <utility>

namespace herd {

std::optional<std::string> ResumeBook::ResumePoint(const std::string& sender,
                                                   uint64_t epoch) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(sender);
  if (it == entries_.end() || it->second.epoch != epoch) return std::nullopt;
  return it->second.cursor;
}

void ResumeBook::Applied(const std::string& sender, uint64_t epoch, std::string cursor) {
  absl::MutexLock lock(&mu_);
  entries_[sender] = Entry{epoch, std::move(cursor)};
}

}  // namespace herd
