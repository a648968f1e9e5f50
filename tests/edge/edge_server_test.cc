// The edge over real loopback sockets, with the real offline Places provider
// over a small in-memory gazetteer and a fixed clock.

#include "edge/edge_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "places/gazetteer.h"
#include "places/offline_provider.h"
#include "tests/testing/ports.h"

namespace herd {
namespace {

constexpr int64_t kNow = 1621464828'223371889;  // receive time of every IAMAT
constexpr char kIamat[] = "IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503";
constexpr char kAt[] =
    "AT Riley +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503";

// A blocking loopback client with a receive timeout, so a broken server fails
// the test instead of hanging it.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(testing::ConnectLoopback(port)) {}
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }

  bool connected() const { return fd_ >= 0; }
  void Send(std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      text.remove_prefix(n);
    }
  }
  void HalfClose() { shutdown(fd_, SHUT_WR); }
  // Reads until `bytes` have arrived, EOF, or the timeout.
  std::string Read(size_t bytes) {
    std::string out;
    char buffer[4096];
    while (out.size() < bytes) {
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      out.append(buffer, n);
    }
    return out;
  }
  std::string ReadToEof() { return Read(SIZE_MAX); }
  // Whether the server closed the connection (EOF or reset) within `wait`.
  bool ClosedWithin(std::chrono::milliseconds wait) {
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(wait.count())) <= 0) return false;
    char c;
    return recv(fd_, &c, 1, MSG_DONTWAIT) <= 0;
  }
  std::string ReadLine() {
    std::string out;
    char c;
    while (recv(fd_, &c, 1, 0) == 1) {
      out.push_back(c);
      if (c == '\n') break;
    }
    return out;
  }

 private:
  int fd_;
};

std::string Exchange(uint16_t port, std::string_view text) {
  Client client(port);
  client.Send(text);
  client.HalfClose();
  return client.ReadToEof();
}

class EdgeServerTest : public ::testing::Test {
 protected:
  void StartServer(EdgeServer::Options options = {}) {
    std::vector<Place> places = {
        {"Bel Air", 34.08334, -118.44869, "US", "California"},
        {"Westwood", 34.05612, -118.43063, "US", "California"},
        {"Santa Monica", 34.01949, -118.49138, "US", "California"},
    };
    provider_ = std::make_unique<OfflinePlacesProvider>(
        std::shared_ptr<const Gazetteer>(*Gazetteer::FromPlaces(places)));
    options.server_name = "Riley";
    server_ = std::make_unique<EdgeServer>(io_, options, &store_, provider_.get(),
                                           ServerLog::Discard(), [] { return kNow; });
    ASSERT_TRUE(server_->Start(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());
    port_ = server_->local_endpoint().port();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    io_.stop();
    for (std::thread& thread : threads_) thread.join();
  }

  asio::io_context io_;
  Store store_{1};
  std::unique_ptr<PlacesProvider> provider_;
  std::unique_ptr<EdgeServer> server_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
};

TEST_F(EdgeServerTest, IamatAnswersTheExactAtLine) {
  StartServer();
  EXPECT_EQ(Exchange(port_, std::string(kIamat) + "\n"), std::string(kAt) + "\n");
  ASSERT_TRUE(store_.Get("kiwi.cs.ucla.edu").has_value());
  EXPECT_EQ(store_.Get("kiwi.cs.ucla.edu")->AtLine(), kAt);
}

TEST_F(EdgeServerTest, PipelinedCommandsInOneWriteAreAnsweredInOrder) {
  StartServer();
  const std::string reply = Exchange(
      port_, std::string(kIamat) + "\n  \nWHATSAT kiwi.cs.ucla.edu 10 2\nBOGUS\n" + kIamat + "\n");
  // AT, then WHATSAT's AT line + JSON + blank line, then "? BOGUS", then AT.
  const std::string whatsat_head = std::string(kAt) + "\n{";
  ASSERT_EQ(reply.rfind(std::string(kAt) + "\n" + whatsat_head, 0), 0u) << reply;
  const size_t json_start = std::string(kAt).size() + 1 + std::string(kAt).size() + 1;
  const size_t json_end = reply.find("}\n\n", json_start);
  ASSERT_NE(json_end, std::string::npos) << reply;
  const auto json = nlohmann::json::parse(reply.substr(json_start, json_end + 1 - json_start));
  EXPECT_EQ(json["status"], "OK");
  ASSERT_EQ(json["results"].size(), 2u);
  EXPECT_EQ(json["results"][0]["name"], "Bel Air");
  EXPECT_EQ(json["results"][1]["name"], "Westwood");
  EXPECT_EQ(reply.substr(json_end + 3), "? BOGUS\n" + std::string(kAt) + "\n");
}

TEST_F(EdgeServerTest, LastCommandEndedByHalfClose) {
  StartServer();
  EXPECT_EQ(Exchange(port_, kIamat), std::string(kAt) + "\n");
  EXPECT_EQ(Exchange(port_, "IAMAT Clark +12-118"), "? IAMAT Clark +12-118\n");
}

TEST_F(EdgeServerTest, InvalidThenValidOnOneConnection) {
  StartServer();
  Client client(port_);
  client.Send("IAMAT Clark +12-118\r\n");
  EXPECT_EQ(client.ReadLine(), "? IAMAT Clark +12-118\n");
  client.Send(std::string(kIamat) + "\n");
  EXPECT_EQ(client.ReadLine(), std::string(kAt) + "\n");
  client.Send("WHATSAT nobody 10 5\n");
  EXPECT_EQ(client.ReadLine(), "? WHATSAT nobody 10 5\n");
}

TEST_F(EdgeServerTest, OverLongLineIsRefusedAndTheServerKeepsServing) {
  EdgeServer::Options options;
  options.max_line_bytes = 100;
  StartServer(options);
  Client flooder(port_);
  Client other(port_);
  const std::string huge(1 << 20, 'x');
  flooder.Send("IAMAT " + huge);  // no newline yet: the server must not buffer it all
  other.Send(std::string(kIamat) + "\n");
  EXPECT_EQ(other.ReadLine(), std::string(kAt) + "\n");
  EXPECT_EQ(flooder.ReadLine(), "? IAMAT " + std::string(100 - 6, 'x') + "\n");
  flooder.Send("\n" + std::string(kIamat) + "\n");  // the long line ends; the next works
  EXPECT_EQ(flooder.ReadLine(), std::string(kAt) + "\n");
}

TEST_F(EdgeServerTest, ManyConcurrentConnections) {
  StartServer();
  constexpr int kConnections = 200;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<Client>(port_));
    ASSERT_TRUE(clients.back()->connected());
  }
  for (int i = 0; i < kConnections; ++i) {
    clients[i]->Send("IAMAT c" + std::to_string(i) + " +1.0+2.0 1621464828\n");
  }
  for (int i = 0; i < kConnections; ++i) {
    EXPECT_EQ(clients[i]->ReadLine(),
              "AT Riley +0.223371889 c" + std::to_string(i) + " +1.0+2.0 1621464828\n");
  }
  EXPECT_EQ(store_.size(), size_t{kConnections});
}

TEST_F(EdgeServerTest, IdleConnectionsAreClosed) {
  EdgeServer::Options options;
  options.idle_timeout = std::chrono::milliseconds(100);
  StartServer(options);
  const auto connected = std::chrono::steady_clock::now();
  Client idle(port_);
  ASSERT_TRUE(idle.connected());
  // Closed by the server (EOF or reset, not a receive timeout), and no
  // sooner than the idle timeout after the connection began.
  ASSERT_TRUE(idle.ClosedWithin(std::chrono::seconds(5)));
  EXPECT_GE(std::chrono::steady_clock::now() - connected, options.idle_timeout);
}

TEST_F(EdgeServerTest, ConnectionsBeyondTheLimitAreClosed) {
  EdgeServer::Options options;
  options.max_connections = 2;
  StartServer(options);
  Client a(port_), b(port_);
  a.Send(std::string(kIamat) + "\n");
  b.Send(std::string(kIamat) + "\n");
  EXPECT_EQ(a.ReadLine(), std::string(kAt) + "\n");
  EXPECT_EQ(b.ReadLine(), std::string(kAt) + "\n");
  Client c(port_);
  c.Send(std::string(kIamat) + "\n");
  EXPECT_EQ(c.ReadToEof(), "");
  // The two that were in keep working.
  a.Send(std::string(kIamat) + "\n");
  EXPECT_EQ(a.ReadLine(), std::string(kAt) + "\n");
}

// A slow-loris client: a byte every 20 ms keeps the connection from being
// idle, but its line never ends, so the line deadline closes it.
TEST_F(EdgeServerTest, ALineThatIsNotCompletedInTimeClosesTheConnection) {
  EdgeServer::Options options;
  options.line_timeout = std::chrono::milliseconds(300);
  StartServer(options);
  Client slow(port_);
  Client fine(port_);
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  slow.Send("IAMAT");
  while (!closed && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    slow.Send("x");
    closed = slow.ClosedWithin(std::chrono::milliseconds(20));  // the trickle's pace
  }
  EXPECT_TRUE(closed);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(290));
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  // Others are unaffected, and whole lines that arrive in pieces are fine.
  fine.Send("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127");
  fine.Send(" 1621464827.959498503\n");
  EXPECT_EQ(fine.ReadLine(), std::string(kAt) + "\n");
}

TEST_F(EdgeServerTest, ConnectionsPerAddressAreCapped) {
  EdgeServer::Options options;
  options.max_connections_per_ip = 2;
  StartServer(options);
  auto a = std::make_unique<Client>(port_);
  Client b(port_);
  a->Send(std::string(kIamat) + "\n");
  EXPECT_EQ(a->ReadLine(), std::string(kAt) + "\n");
  b.Send(std::string(kIamat) + "\n");
  EXPECT_EQ(b.ReadLine(), std::string(kAt) + "\n");
  Client c(port_);
  c.Send(std::string(kIamat) + "\n");
  EXPECT_EQ(c.ReadToEof(), "");
  // Once one closes, the address may connect again.
  a.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string reply;
  while (reply.empty() && std::chrono::steady_clock::now() < deadline) {
    reply = Exchange(port_, std::string(kIamat) + "\n");
  }
  EXPECT_EQ(reply, std::string(kAt) + "\n");
}

TEST_F(EdgeServerTest, AddressInUseIsAClearError) {
  StartServer();
  EdgeServer second(io_, {}, &store_, provider_.get(), ServerLog::Discard(), [] { return kNow; });
  absl::Status status = second.Start(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(std::string(status.message()).find(std::to_string(port_)), std::string::npos) << status;
}

}  // namespace
}  // namespace herd
