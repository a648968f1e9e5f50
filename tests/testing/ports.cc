#include "tests/testing/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

namespace herd::testing {

std::vector<uint16_t> PickFreePorts(int count) {
  std::random_device seed;
  std::mt19937 random(seed());
  std::uniform_int_distribution<int> in_range(20000, 32000);
  std::vector<int> held;  // kept bound until all are chosen: no duplicates
  std::vector<uint16_t> ports;
  while (static_cast<int>(ports.size()) < count) {
    const uint16_t port = static_cast<uint16_t>(in_range(random));
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close(fd);
      continue;
    }
    held.push_back(fd);
    ports.push_back(port);
  }
  for (int fd : held) close(fd);
  return ports;
}

int ConnectLoopback(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace herd::testing
