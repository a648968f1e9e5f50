// Attacks as tests (issue 11): real `herd serve` processes on loopback, each
// attacked in bounded time; afterwards the server must still answer a normal
// IAMAT within a second, and its resident memory (VmRSS) must stay under the
// bound stated in each test.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "grpc/health/v1/health.grpc.pb.h"
#include "herd/v1/herd.grpc.pb.h"
#include "herd/v1/locations.grpc.pb.h"
#include "tests/integration/herd_process.h"
#include "tests/places/fake_google_server.h"
#include "tests/testing/ports.h"

namespace herd::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kIamat[] = "IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503\n";

// Resident memory of a process in MiB, from /proc/PID/status; -1 if gone.
long RssMiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  return -1;
}

std::string ExchangeFrom(const char* source, uint16_t port, const std::string& text) {
  return ExchangeOn(ConnectLoopback(port, source), text);
}

// The check every attack ends with: a normal client (from another loopback
// address, so per-address caps on the attacker do not apply) gets its AT
// line within a second.
void ExpectServesWithinASecond(uint16_t edge_port, const char* source = "127.0.0.2") {
  const auto start = steady_clock::now();
  const std::string reply = ExchangeFrom(source, edge_port, kIamat);
  const auto elapsed = steady_clock::now() - start;
  EXPECT_THAT(reply, StartsWith("AT ")) << "the server no longer answers";
  EXPECT_LT(elapsed, seconds(1));
}

void ExpectRssUnder(pid_t pid, long bound_mib) {
  const long rss = RssMiB(pid);
  EXPECT_GT(rss, 0) << "the server is gone";
  EXPECT_LT(rss, bound_mib) << "VmRSS " << rss << " MiB";
  std::printf("[ measured ] VmRSS %ld MiB (bound %ld MiB)\n", rss, bound_mib);
}

// Sends `text` while reading the replies on another thread (a flood whose
// replies would fill the socket buffers otherwise), then reads to EOF.
std::string Flood(uint16_t port, const std::string& text) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return "";
  std::string out;
  std::thread reader([fd, &out] {
    char buffer[1 << 16];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) out.append(buffer, n);
  });
  for (size_t sent = 0; sent < text.size();) {
    const ssize_t n = send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  reader.join();
  close(fd);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::shared_ptr<grpc::Channel> Channel(uint16_t port) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureChannelCredentials());
}

// A Watch stream a test opens and never reads.
struct Call {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader;
};

// --- 1. file descriptors and the gRPC listener -----------------------------

// Raw TCP connections to the gRPC port until the process runs out of file
// descriptors (its limit is lowered to 200 for this), then all closed.
// gRPC 1.51 never accepts again after that; the server must say so on its
// health service (which a connection opened before still reaches), while
// the edge keeps serving.
TEST(HostileTest, FdExhaustionOnTheGrpcPortIsReportedAsNotServing) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  const pid_t pid = herd.pid("Riley");
  auto channel = Channel(herd.grpc_port("Riley"));
  auto health = grpc::health::v1::Health::NewStub(channel);
  const auto check = [&health] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + seconds(2));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = health->Check(&context, request, &response);
    return status.ok() ? static_cast<int>(response.status()) : -1;
  };
  ASSERT_EQ(check(), grpc::health::v1::HealthCheckResponse::SERVING);

  rlimit original{};
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, nullptr, &original), 0);
  const rlimit low{200, original.rlim_max};
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, &low, nullptr), 0);
  std::vector<int> sockets;
  const auto attack_end = steady_clock::now() + seconds(10);
  while (sockets.size() < 400 && steady_clock::now() < attack_end) {
    const int fd = ConnectLoopback(herd.grpc_port("Riley"));
    if (fd < 0) break;
    sockets.push_back(fd);
  }
  // Give the listener the chance to hit EMFILE: wait until the server's
  // fds are all in use (it accepts what it can).
  WaitFor(
      [pid] {
        int open = 0;
        for (const auto& entry [[maybe_unused]] :
             std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
          ++open;
        }
        return open >= 195;
      },
      seconds(5));
  for (int fd : sockets) close(fd);
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, &original, nullptr), 0);

  ExpectServesWithinASecond(herd.edge_port("Riley"), "127.0.0.1");
  const bool accepts_again =
      WaitFor([&] { return Accepting(herd.grpc_port("Riley")); }, seconds(1));
  // Either gRPC accepts again, or health says it does not: never a server
  // that looks healthy and is not.
  std::string outcome = "gRPC accepts no more and health says SERVING";
  const bool reported = WaitFor(
      [&] {
        grpc::ChannelArguments args;
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
        auto fresh = grpc::health::v1::Health::NewStub(
            grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(herd.grpc_port("Riley")),
                                      grpc::InsecureChannelCredentials(), args));
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + milliseconds(500));
        grpc::health::v1::HealthCheckRequest request;
        grpc::health::v1::HealthCheckResponse response;
        if (fresh->Check(&context, request, &response).ok()) {
          outcome = "gRPC accepts again";
          return true;
        }
        if (check() != grpc::health::v1::HealthCheckResponse::NOT_SERVING) return false;
        outcome = "gRPC accepts no more; health says NOT_SERVING";
        return true;
      },
      seconds(25));
  EXPECT_TRUE(reported) << "the gRPC port is dead and health still says SERVING";
  std::printf("[ measured ] after fd exhaustion: %s (the port %s TCP)\n", outcome.c_str(),
              accepts_again ? "accepts" : "refuses");
  ExpectRssUnder(pid, 150);
}

// --- 2. deeply nested Places JSON --------------------------------------------

TEST(HostileTest, DeeplyNestedLegacyPlacesAnswerIsUnknownError) {
  FakeGoogleServer google;
  google.Respond({.body = R"({"status": "OK", "results": [)" + std::string(100'000, '[') +
                          std::string(100'000, ']') + "]}"});
  setenv("HERD_HOSTILE_KEY", "k", 1);
  HerdProcesses herd({"Riley"}, {},
                     {{"places",
                       {{"provider", "google-legacy"},
                        {"endpoint", google.url()},
                        {"api_key_env", "HERD_HOSTILE_KEY"}}}});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  ASSERT_THAT(Exchange(port, kIamat), StartsWith("AT "));
  const std::string reply = Exchange(port, "WHATSAT kiwi.cs.ucla.edu 10 5\n");
  EXPECT_THAT(reply, HasSubstr("\"status\": \"UNKNOWN_ERROR\"")) << reply.substr(0, 300);
  ExpectServesWithinASecond(port);
  ExpectRssUnder(herd.pid("Riley"), 150);
}

// --- 3. Watch streams ---------------------------------------------------------

TEST(HostileTest, WatchStreamsAreCappedPerCallerAndFiltersBySize) {
  HerdProcesses herd({"Riley"}, {}, {{"grpc", {{"max_watch_streams_per_caller", 50}}}});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  std::string flood;  // something to stream
  for (int i = 0; i < 2000; ++i) {
    flood += "IAMAT c" + std::to_string(i) + std::string(200, 'x') + " +34.068930-118.445127 " +
             std::to_string(1621464827 + i) + "\n";
  }
  ASSERT_THAT(Flood(port, flood), StartsWith("AT "));
  auto stub = v1::Locations::NewStub(Channel(herd.grpc_port("Riley")));
  // 300 streams that never read, each asking for the whole current state.
  std::vector<std::unique_ptr<Call>> calls;
  v1::WatchRequest everything;
  everything.set_include_current(true);
  for (int i = 0; i < 300; ++i) {
    calls.push_back(std::make_unique<Call>());
    calls.back()->reader = stub->Watch(&calls.back()->context, everything);
  }
  // Every stream has started or been refused: read one message from each.
  int refused = 0;
  for (auto& call : calls) {
    v1::WatchResponse message;
    if (!call->reader->Read(&message)) {
      const grpc::Status status = call->reader->Finish();
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << status.error_message();
      ++refused;
    }
  }
  EXPECT_EQ(refused, 250);
  // A filter of 1000 ids of 200 bytes is refused at once, naming the field.
  v1::WatchRequest big;
  for (int i = 0; i < 1000; ++i)
    big.add_client_ids(std::string(196, 'f') + std::to_string(1000 + i));
  grpc::ClientContext big_context;
  auto big_reader = stub->Watch(&big_context, big);
  v1::WatchResponse message;
  EXPECT_FALSE(big_reader->Read(&message));
  const grpc::Status big_status = big_reader->Finish();
  EXPECT_EQ(big_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(big_status.error_message(), StartsWith("client_ids: "));
  ExpectServesWithinASecond(port);
  ExpectRssUnder(herd.pid("Riley"), 200);
  for (auto& call : calls) call->context.TryCancel();
}

// A thousand streams (the server's cap) that never read, each sent the whole
// current state: each holds one small message, and closing them gives the
// memory back.
TEST(HostileTest, AThousandUnreadWatchStreamsStayBoundedAndGiveMemoryBack) {
  HerdProcesses herd({"Riley"}, {}, {{"grpc", {{"max_watch_streams_per_caller", 1000}}}});
  ASSERT_TRUE(herd.StartAll());
  const pid_t pid = herd.pid("Riley");
  const uint16_t port = herd.edge_port("Riley");
  std::string flood;
  for (int i = 0; i < 2000; ++i) {
    flood += "IAMAT w" + std::to_string(i) + std::string(200, 'w') + " +34.068930-118.445127 " +
             std::to_string(1621464827 + i) + "\n";
  }
  ASSERT_THAT(Flood(port, flood), StartsWith("AT "));
  const long before = RssMiB(pid);
  std::vector<std::unique_ptr<Call>> calls;
  v1::WatchRequest everything;
  everything.set_include_current(true);
  std::vector<std::unique_ptr<v1::Locations::Stub>> stubs;
  for (int c = 0; c < 10; ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // ten connections
    stubs.push_back(v1::Locations::NewStub(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(herd.grpc_port("Riley")),
                                  grpc::InsecureChannelCredentials(), args)));
  }
  for (int i = 0; i < 1100; ++i) {
    calls.push_back(std::make_unique<Call>());
    calls.back()->reader = stubs[i % 10]->Watch(&calls.back()->context, everything);
  }
  int refused = 0;
  for (auto& call : calls) {
    v1::WatchResponse message;
    if (!call->reader->Read(&message)) ++refused;
  }
  EXPECT_EQ(refused, 100);  // grpc.max_watch_streams: 1000
  const long open = RssMiB(pid);
  std::printf("[ measured ] VmRSS %ld MiB before, %ld MiB with 1000 unread Watch streams\n", before,
              open);
  ExpectServesWithinASecond(port);
  EXPECT_LT(open - before, 150);
  for (auto& call : calls) call->context.TryCancel();
  for (auto& call : calls) call->reader->Finish();
  calls.clear();
  // The pump trims after closes; a report makes sure it has run.
  ExpectServesWithinASecond(port);
  const bool shrank = WaitFor([&] { return RssMiB(pid) < open - (open - before) / 2; }, seconds(5));
  std::printf("[ measured ] VmRSS %ld MiB after they closed\n", RssMiB(pid));
  EXPECT_TRUE(shrank || open - before < 20);
  ExpectRssUnder(pid, 250);
}

// --- 4. store limits ------------------------------------------------------------

TEST(HostileTest, MaxClientsRefusesNewClientsOnly) {
  HerdProcesses herd({"Riley"}, {}, {{"store", {{"max_clients", 1000}}}});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  // 5,000 new maximum-size ids in one connection, pipelined.
  std::string flood;
  for (int i = 0; i < 5000; ++i) {
    flood += "IAMAT " + std::string(250, 'm') + std::to_string(100000 + i) +
             " +34.068930-118.445127 1621464827\n";
  }
  const std::string replies = Flood(port, flood);
  size_t at = 0, refused = 0;
  std::istringstream lines(replies);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("AT ", 0) == 0) ++at;
    if (line.rfind("? IAMAT ", 0) == 0) ++refused;
  }
  EXPECT_EQ(at, 1000u);
  EXPECT_EQ(refused, 4000u);
  // An existing client keeps updating.
  EXPECT_THAT(Exchange(port, "IAMAT " + std::string(250, 'm') + "100000 +1+2 1621464828\n"),
              StartsWith("AT "));
  EXPECT_THAT(Exchange(port, "IAMAT newcomer +1+2 1621464828\n"), StartsWith("? IAMAT"));
  // Counted where operators look.
  auto admin = v1::Admin::NewStub(Channel(herd.grpc_port("Riley")));
  grpc::ClientContext context;
  v1::StatusResponse status;
  ASSERT_TRUE(admin->Status(&context, v1::StatusRequest(), &status).ok());
  EXPECT_EQ(status.clients(), 1000u);
  EXPECT_EQ(status.clients_refused_total(), 4001u);
  ExpectRssUnder(herd.pid("Riley"), 150);
}

TEST(HostileTest, ClientTtlForgetsOnEveryServerAndNeverResurrects) {
  HerdProcesses herd({"Riley", "Jaquez"}, {{"Riley", "Jaquez"}},
                     {{"store", {{"client_ttl_s", 5}}}});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t riley = herd.edge_port("Riley");
  const uint16_t jaquez = herd.edge_port("Jaquez");
  // A current client time: the record expires 5 s after Riley receives it
  // (long enough for the flood and Jaquez's restart below on a busy machine).
  const std::string now = std::to_string(
      std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  ASSERT_THAT(Exchange(riley, "IAMAT brief +1+2 " + now + "\n"), StartsWith("AT "));
  ASSERT_TRUE(
      WaitFor([&] { return Exchange(jaquez, "WHATSAT brief 10 1\n").rfind("AT ", 0) == 0; }));
  const auto forgotten = [](uint16_t port) {
    return Exchange(port, "WHATSAT brief 10 1\n").rfind("? ", 0) == 0;
  };
  EXPECT_TRUE(WaitFor([&] { return forgotten(riley) && forgotten(jaquez); }, seconds(8)));
  // Restarting Jaquez (empty) makes Riley send it everything it holds:
  // the client stays forgotten.
  herd.Stop("Jaquez", SIGKILL);
  ASSERT_TRUE(herd.Start("Jaquez"));
  ASSERT_THAT(Exchange(riley, "IAMAT marker +1+2 " + now + "\n"), StartsWith("AT "));
  ASSERT_TRUE(
      WaitFor([&] { return Exchange(jaquez, "WHATSAT marker 10 1\n").rfind("AT ", 0) == 0; }));
  EXPECT_TRUE(forgotten(jaquez));
  ExpectServesWithinASecond(riley);
}

// --- 5. slow clients ---------------------------------------------------------------

TEST(HostileTest, SlowLinesAndOneAddressCannotHoldEverySlot) {
  HerdProcesses herd(
      {"Riley"}, {},
      {{"edge",
        {{"max_connections", 200}, {"max_connections_per_ip", 50}, {"line_timeout_ms", 1000}}}});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  // 300 connections from one address, each trickling a byte at a time.
  std::vector<int> slow;
  for (int i = 0; i < 300; ++i) {
    const int fd = ConnectLoopback(port, "127.0.0.1");
    if (fd >= 0) slow.push_back(fd);
  }
  const auto start = steady_clock::now();
  while (steady_clock::now() - start < seconds(3)) {
    for (int fd : slow) send(fd, "I", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    ExpectServesWithinASecond(port);                 // another address is served meanwhile
    std::this_thread::sleep_for(milliseconds(200));  // the trickle's pace
  }
  // The line deadline has closed every one of them.
  EXPECT_TRUE(WaitFor(
      [&] {
        for (int fd : slow) {
          pollfd pfd{fd, POLLIN, 0};
          if (poll(&pfd, 1, 0) != 1) return false;
        }
        return true;
      },
      seconds(3)));
  for (int fd : slow) close(fd);
  ExpectServesWithinASecond(port, "127.0.0.1");
  ExpectRssUnder(herd.pid("Riley"), 150);
}

// --- 6. page sizes ------------------------------------------------------------------

TEST(HostileTest, ListOfMaximumSizeClientsFitsTheDefaultMessageLimit) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  const std::string location = "+1." + std::string(500, '1') + "+2." + std::string(500, '2');
  std::string flood;
  for (int i = 0; i < 1100; ++i) {
    flood += "IAMAT " + std::string(250, 'p') + std::to_string(100000 + i) + " " + location +
             " 1." + std::string(1000, '3') + "\n";
  }
  ASSERT_THAT(Flood(port, flood), StartsWith("AT "));
  auto stub = v1::Locations::NewStub(Channel(herd.grpc_port("Riley")));
  std::set<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext context;
    v1::ListRequest request;
    request.set_page_size(1000);
    request.set_page_token(token);
    v1::ListResponse page;
    const grpc::Status status = stub->List(&context, request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();  // a default client: 4 MiB limit
    for (const auto& l : page.locations()) listed.insert(l.record().client_id());
    token = page.next_page_token();
  } while (!token.empty() && ++pages < 100);
  EXPECT_EQ(listed.size(), 1100u);
  grpc::ClientContext context;
  v1::WithinRequest within;
  within.set_latitude(1.1);
  within.set_longitude(2.2);
  within.set_radius_km(50);
  within.set_limit(1000);
  v1::WithinResponse answer;
  const grpc::Status status = stub->Within(&context, within, &answer);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(answer.truncated());
  ExpectServesWithinASecond(port);
  ExpectRssUnder(herd.pid("Riley"), 150);
}

// --- 7. herd up killed with SIGKILL --------------------------------------------------

// The processes whose parent is `pid` (from /proc/*/stat).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t paren = text.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(text.substr(paren + 2));
    char state;
    pid_t parent = 0;
    fields >> state >> parent;
    if (parent == pid) out.push_back(std::stoi(name));
  }
  return out;
}

bool GoneOrZombie(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("State:", 0) == 0) return line.find('Z') != std::string::npos;
  }
  return true;
}

TEST(HostileTest, HerdUpKilledTakesItsServersWithIt) {
  HerdProcesses herd({"Riley", "Jaquez"}, {{"Riley", "Jaquez"}});
  const pid_t up = fork();
  if (up == 0) {
    const int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    execl(HERD_BINARY, HERD_BINARY, "up", "--config", herd.config_path().c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_TRUE(WaitFor(
      [&] { return Accepting(herd.edge_port("Riley")) && Accepting(herd.edge_port("Jaquez")); }));
  const std::vector<pid_t> servers = ChildrenOf(up);
  ASSERT_EQ(servers.size(), 2u);
  kill(up, SIGKILL);
  waitpid(up, nullptr, 0);
  EXPECT_TRUE(WaitFor(
      [&] {
        for (pid_t server : servers) {
          if (!GoneOrZombie(server)) return false;
        }
        return true;
      },
      seconds(5)));
  EXPECT_TRUE(WaitFor(
      [&] { return !Accepting(herd.edge_port("Riley")) && !Accepting(herd.edge_port("Jaquez")); },
      seconds(5)));
  for (pid_t server : servers) kill(server, SIGKILL);  // in case the test failed
}

// --- 8. control bytes -------------------------------------------------------------------

TEST(HostileTest, ControlBytesAreRefusedInIdsAndEscapedInTheLog) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  const std::string nul_id("IAMAT a\0b +1+2 3\n", 17);
  EXPECT_EQ(Exchange(port, nul_id), std::string("? IAMAT a\0b +1+2 3\n", 19));
  const std::string fake = "HELLO\r2026-11-25T19:40:01.123456Z I peer Jaquez connected\x1b[2K\n";
  // The reply echoes the line as received (SPEC section 3); the log escapes it.
  EXPECT_EQ(Exchange(port, fake), "? " + fake);
  const std::string log_path = herd.dir() + "/logs/Riley.log";
  ASSERT_TRUE(
      WaitFor([&] { return ReadFile(log_path).find("HELLO\\r2026") != std::string::npos; }));
  const std::string log = ReadFile(log_path);
  for (char c : log) {
    const auto byte = static_cast<unsigned char>(c);
    EXPECT_FALSE(byte != '\n' && (byte < 0x20 || byte == 0x7f)) << "raw byte " << int(byte);
  }
  EXPECT_THAT(log, HasSubstr("a\\0b"));
  EXPECT_THAT(log, HasSubstr("connected\\e[2K"));
  ExpectServesWithinASecond(port);
}

// --- what already held and must stay true ------------------------------------------------

TEST(HostileTest, OldAttacksStillChangeNothing) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  // Every byte value, alone and in an IAMAT's fields; invalid UTF-8;
  // numbers that are not numbers.
  std::string odd;
  for (int b = 0; b < 256; ++b) {
    if (b == '\n') continue;
    odd += std::string(1, static_cast<char>(b)) + "\n";
    odd += "IAMAT id" + std::string(1, static_cast<char>(b)) + " +1+2 3\n";
  }
  odd += "IAMAT bad\xc3\x28 +1+2 3\nIAMAT n +nan+inf 1e308\nWHATSAT n NaN 5\n";
  const std::string replies = Flood(port, odd);
  EXPECT_GT(replies.size(), 0u);
  // 64 MiB without a newline, then the connection goes away.
  {
    const int fd = ConnectLoopback(port);
    ASSERT_GE(fd, 0);
    const std::string chunk(1 << 20, 'z');
    for (int i = 0; i < 64; ++i) {
      if (send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) <= 0) break;
    }
    close(fd);
  }
  // 100,000 pipelined commands, read as they come.
  std::string pipelined;
  for (int i = 0; i < 100'000; ++i) {
    pipelined += "IAMAT p" + std::to_string(i % 1000) + " +1+2 " + std::to_string(i) + "\n";
  }
  const std::string answers = Flood(port, pipelined);
  EXPECT_EQ(std::count(answers.begin(), answers.end(), '\n'), 100'000);
  // A reader that never reads, then a reset in the middle of its replies.
  {
    const int fd = ConnectLoopback(port);
    ASSERT_GE(fd, 0);
    std::string whatsats;
    for (int i = 0; i < 20'000; ++i) whatsats += "WHATSAT p1 50 20\n";
    for (size_t sent = 0; sent < whatsats.size();) {
      const ssize_t n =
          send(fd, whatsats.data() + sent, whatsats.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) break;  // the server stopped reading: it does not buffer without bound
      sent += static_cast<size_t>(n);
    }
    const linger reset{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(fd);  // RST
  }
  ExpectServesWithinASecond(port);
  ExpectRssUnder(herd.pid("Riley"), 150);
}

// --- 10. WHATSAT bound with leading zeros -------------------------------------------------

TEST(HostileTest, WhatsatBoundWithLeadingZeros) {
  HerdProcesses herd({"Riley"}, {});
  ASSERT_TRUE(herd.StartAll());
  const uint16_t port = herd.edge_port("Riley");
  const std::string at = Exchange(port, kIamat);
  ASSERT_THAT(at, StartsWith("AT "));
  EXPECT_THAT(Exchange(port, "WHATSAT kiwi.cs.ucla.edu 50 0000020\n"), StartsWith(at));
}

}  // namespace
}  // namespace herd::testing
