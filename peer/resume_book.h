#ifndef HERD_PEER_RESUME_BOOK_H_
#define HERD_PEER_RESUME_BOOK_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace herd {

// What this server has applied from each neighbour: the neighbour's epoch
// and the feed cursor of the last batch applied. When the neighbour opens a
// new stream, this says where it can resume (a delta) or that it must start
// over (it restarted, or we did and lost the book: a full copy).
//
// The cursor is the sender's: opaque bytes here, stored and echoed as they
// came. Only the sender, whose store made it, decodes it (and checks it
// against its feed), so two servers need not agree on a shard count.
//
// With a data_dir the book is kept on disk (Export/Import) in the same write
// as the records it speaks of, so a restarted server still resumes its
// neighbours with a delta; without one it starts empty and they send their
// full state.
//
// Thread-safe.
class ResumeBook {
 public:
  ResumeBook() = default;
  ResumeBook(const ResumeBook&) = delete;
  ResumeBook& operator=(const ResumeBook&) = delete;

  // The cursor bytes where `sender` at `epoch` should resume, if we have
  // applied anything of that epoch.
  std::optional<std::string> ResumePoint(const std::string& sender, uint64_t epoch) const;

  // Notes that everything of `sender` at `epoch` up to `cursor` is applied.
  void Applied(const std::string& sender, uint64_t epoch, std::string cursor);

  // Every entry as bytes (neighbour -> its epoch and cursor), for the disk:
  // a server restarted with its book tells its neighbours to send a delta.
  std::map<std::string, std::string> Export() const;
  // Entries from Export(); a malformed one is left out (that neighbour
  // then sends its full state).
  void Import(const std::map<std::string, std::string>& saved);

 private:
  struct Entry {
    uint64_t epoch = 0;
    std::string cursor;
  };

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_PEER_RESUME_BOOK_H_
