#ifndef HERD_TESTS_INTEGRATION_HERD_STATUS_H_
#define HERD_TESTS_INTEGRATION_HERD_STATUS_H_

#include <optional>
#include <string>
#include <vector>

#include "herd/v1/herd.pb.h"
#include "tests/integration/herd_process.h"

namespace herd::testing {

// herd.v1.Admin/Status of `server` (plaintext, 5 s deadline); nothing if it
// does not answer.
std::optional<v1::StatusResponse> TryStatus(const HerdProcesses& herd, const std::string& server);

// Whether every link of every one of `servers` is connected with nothing
// unacknowledged (the herd has converged and is quiet).
bool AllLinksIdle(const HerdProcesses& herd, const std::vector<std::string>& servers);

}  // namespace herd::testing

#endif  // HERD_TESTS_INTEGRATION_HERD_STATUS_H_
