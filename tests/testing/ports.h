#ifndef HERD_TESTS_TESTING_PORTS_H_
#define HERD_TESTS_TESTING_PORTS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace herd::testing {

// `count` distinct loopback TCP ports that were free a moment ago, picked at
// random below the kernel's ephemeral range (ip_local_port_range starts at
// 32768): a port handed out by bind(0) or taken by an outgoing connection
// elsewhere can then never collide with them before the test binds them.
std::vector<uint16_t> PickFreePorts(int count);

// A blocking TCP connection to 127.0.0.1:port with a 10 s receive timeout
// (so a broken server fails a test instead of hanging it); -1 if refused.
// With `source` (another loopback address, standing for another client
// host), the connection comes from there.
int ConnectLoopback(uint16_t port, const char* source = nullptr);

// A listening TCP socket on 127.0.0.1:port (SO_REUSEADDR); -1 if the port
// is taken.
int ListenLoopback(uint16_t port);

// Sends `text` on the connected socket `fd`, half-closes it, reads to EOF
// and closes it; "" if `fd` is -1.
std::string ExchangeOn(int fd, const std::string& text);

}  // namespace herd::testing

#endif  // HERD_TESTS_TESTING_PORTS_H_
