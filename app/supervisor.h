#ifndef HERD_APP_SUPERVISOR_H_
#define HERD_APP_SUPERVISOR_H_

#include <string>
#include <vector>

namespace herd {

// `herd up`: runs `herd serve NAME --config FILE` for every server of the
// config, one process each, and stops them all on SIGINT/SIGTERM. Returns the
// process exit status: 0 after a requested stop, 1 if a server died on its own.
// A server that dies is reported and the others keep running (a herd survives
// losing members; restart it by hand with `herd serve`). The servers also end
// (SIGTERM) when `herd up` itself dies, even of SIGKILL.
int RunHerd(const std::string& herd_binary, const std::string& config_path,
            const std::vector<std::string>& names);

}  // namespace herd

#endif  // HERD_APP_SUPERVISOR_H_
