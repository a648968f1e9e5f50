#ifndef HERD_PEER_LINK_CONTEXT_H_
#define HERD_PEER_LINK_CONTEXT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/server_log.h"
#include "fences/fence_book.h"
#include "store/store.h"

namespace herd {

// What every link of one server shares. Constant after construction; the
// store, fence book and log outlive the links.
struct LinkContext {
  std::string self_name;
  uint64_t epoch = 0;  // this server's, sent in PeerHello
  Store* store = nullptr;
  FenceBook* fences = nullptr;  // null: this server floods no fences
  ServerLog* log = nullptr;
  size_t max_batch_records = 512;
  // A batch's fences: at most this many, and no more once their bytes
  // reach max_batch_fence_bytes (a fence may be a large polygon; the
  // receiver's message limit is 4 MB).
  size_t max_batch_fences = 256;
  size_t max_batch_fence_bytes = size_t{1} << 20;
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{1000};
};

}  // namespace herd

#endif  // HERD_PEER_LINK_CONTEXT_H_
