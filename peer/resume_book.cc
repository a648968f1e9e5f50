#include "peer/resume_book.h"

#include <cstring>
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

std::map<std::string, std::string> ResumeBook::Export() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::string> out;
  for (const auto& [sender, entry] : entries_) {
    std::string bytes(sizeof entry.epoch, '\0');
    std::memcpy(bytes.data(), &entry.epoch, sizeof entry.epoch);
    out[sender] = bytes + entry.cursor;
  }
  return out;
}

void ResumeBook::Import(const std::map<std::string, std::string>& saved) {
  absl::MutexLock lock(&mu_);
  for (const auto& [sender, bytes] : saved) {
    Entry entry;
    if (bytes.size() < sizeof entry.epoch) continue;
    std::memcpy(&entry.epoch, bytes.data(), sizeof entry.epoch);
    entry.cursor = bytes.substr(sizeof entry.epoch);
    entries_[sender] = std::move(entry);
  }
}

}  // namespace herd
