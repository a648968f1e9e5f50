#ifndef HERD_PEER_RESUME_BOOK_H_
#define HERD_PEER_RESUME_BOOK_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "store/store.h"

namespace herd {

// What this server has applied from each neighbour: the neighbour's epoch
// and the feed cursor of the last batch applied. When the neighbour opens a
// new stream, this says where it can resume (a delta) or that it must start
// over (it restarted, or we did and lost the book: a full copy).
//
// Kept in memory only: a restarted server has an empty book and its
// neighbours send it their full state, which is what it needs.
//
// Thread-safe.
class ResumeBook {
 public:
  ResumeBook() = default;
  ResumeBook(const ResumeBook&) = delete;
  ResumeBook& operator=(const ResumeBook&) = delete;

  // Where `sender` at `epoch` should resume, if we have applied anything of
  // that epoch.
  std::optional<Store::Cursor> ResumePoint(const std::string& sender, uint64_t epoch) const;

  // Notes that everything of `sender` at `epoch` up to `cursor` is applied.
  void Applied(const std::string& sender, uint64_t epoch, const Store::Cursor& cursor);

 private:
  struct Entry {
    uint64_t epoch = 0;
    Store::Cursor cursor;
  };

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_PEER_RESUME_BOOK_H_
