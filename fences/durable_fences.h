#ifndef HERD_FENCES_DURABLE_FENCES_H_
#define HERD_FENCES_DURABLE_FENCES_H_

#include <cstdint>

#include "fences/fence_book.h"
#include "store/durable_table.h"

namespace herd {

// The herd's fences as a table DurableStore keeps beside the records
// (prefix "f"): each change of `book` written out as a serialized
// herd.v1.Fence under its id, and at load applied back with newer-wins,
// deletions older than `deleted_ttl_ns` at `now_ns` forgotten on disk too.
//
// The table's functions are thread-safe (FenceBook is); `book` must outlive
// DurableStore::Stop().
DurableTable DurableFences(FenceBook* book, int64_t now_ns, int64_t deleted_ttl_ns);

}  // namespace herd

#endif  // HERD_FENCES_DURABLE_FENCES_H_
