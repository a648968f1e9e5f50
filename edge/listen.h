#ifndef HERD_EDGE_LISTEN_H_
#define HERD_EDGE_LISTEN_H_

#include <string_view>

#include "absl/status/status.h"
#include "common/asio.h"

namespace herd {

// Opens, binds (SO_REUSEADDR) and listens on `endpoint` with `acceptor`.
// On failure the acceptor is closed again, so the caller may try later, and
// the error (UNAVAILABLE) names `what` and the address: "edge 127.0.0.1:12000:
// Address already in use". Not thread-safe: on the acceptor's executor, or
// before it runs.
absl::Status Listen(tcp::acceptor* acceptor, const tcp::endpoint& endpoint, std::string_view what);

}  // namespace herd

#endif  // HERD_EDGE_LISTEN_H_
