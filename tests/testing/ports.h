#ifndef HERD_TESTS_TESTING_PORTS_H_
#define HERD_TESTS_TESTING_PORTS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace herd::testing {

// A loopback TCP port the kernel picked (bind to port 0, read back), held
// for the object's life by a socket that is bound with SO_REUSEADDR and
// SO_REUSEPORT but never listens. While it is held no bind to port 0 gets
// the port and a plain bind fails, so nothing else on the machine takes it;
// yet a server of the test's own can listen on it, in this process or in a
// child, since every listener of herd sets SO_REUSEADDR (Asio's acceptor,
// gRPC, civetweb). This replaces probing a random port and closing it, which
// left the port to whoever bound it next. For servers that need their port
// before they start (a config file, a neighbour's address); a server the
// test starts itself binds port 0 and reports its port.
class ReservedPort {
 public:
  ReservedPort();
  ~ReservedPort();
  ReservedPort(ReservedPort&& other) noexcept;
  ReservedPort& operator=(ReservedPort&& other) noexcept;
  ReservedPort(const ReservedPort&) = delete;
  ReservedPort& operator=(const ReservedPort&) = delete;

  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A blocking TCP connection to 127.0.0.1:port with a 10 s receive timeout
// (so a broken server fails a test instead of hanging it); -1 if refused.
// With `source` (another loopback address, standing for another client
// host), the connection comes from there.
int ConnectLoopback(uint16_t port, const char* source = nullptr);

// A listening TCP socket on 127.0.0.1:port (SO_REUSEADDR, so it can listen
// on a ReservedPort); -1 if the port is taken.
int ListenLoopback(uint16_t port);

// Sends `text` on the connected socket `fd`, half-closes it, reads to EOF
// and closes it; "" if `fd` is -1.
std::string ExchangeOn(int fd, const std::string& text);

}  // namespace herd::testing

#endif  // HERD_TESTS_TESTING_PORTS_H_
