#include "peer/resume_book.h"

namespace herd {

std::optional<Store::Cursor> ResumeBook::ResumePoint(const std::string& sender,
                                                     uint64_t epoch) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(sender);
  if (it == entries_.end() || it->second.epoch != epoch) return std::nullopt;
  return it->second.cursor;
}

void ResumeBook::Applied(const std::string& sender, uint64_t epoch,
                         const Store::Cursor& cursor) {
  absl::MutexLock lock(&mu_);
  entries_[sender] = Entry{epoch, cursor};
}

}  // namespace herd
