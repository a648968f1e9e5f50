#ifndef HERD_PEER_LINK_CONTEXT_H_
#define HERD_PEER_LINK_CONTEXT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/server_log.h"
#include "store/store.h"

namespace herd {

// What every link of one server shares. Constant after construction; the
// store and log outlive the links.
struct LinkContext {
  std::string self_name;
  uint64_t epoch = 0;  // this server's, sent in PeerHello
  Store* store = nullptr;
  ServerLog* log = nullptr;
  size_t max_batch_records = 512;
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{1000};
};

}  // namespace herd

#endif  // HERD_PEER_LINK_CONTEXT_H_
