#ifndef HERD_STORE_DURABLE_TABLE_H_
#define HERD_STORE_DURABLE_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace herd {

// A keyed table of opaque values that DurableStore keeps beside the records,
// in the same database and with the same rounds (app/: the herd's fences, as
// serialized herd.v1.Fence by fence id). store/ sits below the modules whose
// state this is and knows nothing of what the values mean: the table is
// read the way the disk reads the store, as a feed of changes with a
// cursor, and handed back entry by entry at load.
//
// The functions are called by DurableStore: `load` by the owner's thread in
// DurableStore::LoadTable, `read_after` on the persister thread, `subscribe`
// in Start and its result in Stop. They must be thread-safe against the
// caller's own writers, and stay callable until DurableStore::Stop() has
// returned (its last round reads the tables once more).
struct DurableTable {
  using Entry = std::pair<std::string, std::string>;  // key, value

  // Names the table's keys on disk: "<prefix>:<key>". 1-16 letters and
  // digits, and not one DurableStore uses itself ("r", "s", "m").
  std::string prefix;

  // Up to `max` entries changed after `*cursor`, each key once at its newest
  // value, advancing *cursor past them; empty when there is nothing after
  // it. A cursor starts at 0 (everything).
  std::function<std::vector<Entry>(uint64_t* cursor, size_t max)> read_after;

  // Arranges for `wake` (quick, non-blocking, any thread) to be called
  // after each change and returns what undoes that; null: changes are
  // written within a second (the persister's idle round).
  std::function<std::function<void()>(std::function<void()> wake)> subscribe;

  // Each stored entry, at load: true keeps it, false forgets it (it is
  // deleted from disk: an expired tombstone, say); an error fails the load
  // (the entry is damaged).
  std::function<absl::StatusOr<bool>(std::string_view key, std::string_view value)> load;
};

}  // namespace herd

#endif  // HERD_STORE_DURABLE_TABLE_H_
