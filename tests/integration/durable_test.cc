// Durability (SPEC section 9, issue 13) with real processes and a data_dir:
// every acknowledged record survives SIGKILL of the whole herd; a restart
// is a delta both ways; a damaged data directory stops the start (exit 2).

#include <signal.h>

#include <gtest/gtest.h>

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herd/v1/herd.grpc.pb.h"
#include "herd/v1/locations.grpc.pb.h"
#include "tests/integration/herd_process.h"
#include "tests/integration/herd_status.h"

namespace herd::testing {
namespace {

const std::vector<std::string>& kNames = kDefaultHerdNames;
const std::vector<std::pair<std::string, std::string>>& kLinks = kDefaultHerdLinks;

// An acknowledged record: the AT line its origin answered with.
using Acknowledged = std::map<std::string, std::string>;  // client id -> AT line

class DurableTest : public ::testing::Test {
 protected:
  explicit DurableTest(const std::string& fsync = "everysec")
      : herd_(kNames, kLinks, {{"data_dir", "data"}, {"fsync", fsync}}) {}

  std::shared_ptr<grpc::Channel> Channel(const std::string& server) {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(herd_.grpc_port(server)),
                               grpc::InsecureChannelCredentials());
  }
  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return context;
  }
  std::optional<v1::StatusResponse> TryStatus(const std::string& server) {
    return testing::TryStatus(herd_, server);
  }
  bool AllLinksIdle() { return testing::AllLinksIdle(herd_, kNames); }
  v1::StatusResponse RestartJuzangWhileRileyTakesFive(int signal);

  // `count` IAMATs for new clients on one connection; records each reply.
  void IamatBurst(const std::string& server, int count, const std::string& tag,
                  Acknowledged* acknowledged) {
    std::string lines;
    for (int i = 0; i < count; ++i) {
      lines += "IAMAT " + tag + server + "-" + std::to_string(i) +
               " +34.068930-118.445127 1700000000." + std::to_string(100 + i) + "\n";
    }
    const std::string replies = Exchange(herd_.edge_port(server), lines);
    size_t start = 0;
    int answered = 0;
    while (start < replies.size()) {
      const size_t end = replies.find('\n', start);
      const std::string line = replies.substr(start, end - start);
      start = end == std::string::npos ? replies.size() : end + 1;
      if (line.rfind("AT ", 0) != 0) continue;
      // AT ORIGIN SKEW CLIENT LOCATION TIME
      const size_t a = line.find(' ', 3), b = line.find(' ', a + 1), c = line.find(' ', b + 1);
      (*acknowledged)[line.substr(b + 1, c - b - 1)] = line;
      ++answered;
    }
    EXPECT_EQ(answered, count) << server;
  }
  void ReportBurst(const std::string& server, int count, const std::string& tag,
                   Acknowledged* acknowledged) {
    auto stub = v1::Locations::NewStub(Channel(server));
    for (int i = 0; i < count; ++i) {
      v1::ReportRequest request;
      request.set_client_id("grpc-" + tag + server + "-" + std::to_string(i));
      request.set_latitude(34.068930);
      request.set_longitude(-118.445127);
      request.mutable_client_time()->set_seconds(1700000000 + i);
      v1::ReportResponse response;
      ASSERT_TRUE(stub->Report(Context().get(), request, &response).ok());
      (*acknowledged)[request.client_id()] = response.at_line();
    }
  }
  // Whether `server` holds every acknowledged record, byte for byte.
  bool Holds(const std::string& server, const Acknowledged& acknowledged) {
    auto stub = v1::Locations::NewStub(Channel(server));
    for (const auto& [client, at_line] : acknowledged) {
      v1::GetRequest request;
      request.set_client_id(client);
      v1::Location location;
      if (!stub->Get(Context().get(), request, &location).ok()) return false;
      if (location.at_line() != at_line) return false;
    }
    return true;
  }

  HerdProcesses herd_;
};

TEST_F(DurableTest, EveryAcknowledgedRecordSurvivesSigkillOfTheWholeHerd) {
  ASSERT_TRUE(herd_.StartAll());
  Acknowledged acknowledged;
  for (const std::string& server : kNames) {
    IamatBurst(server, 200, "k", &acknowledged);
    ReportBurst(server, 20, "k", &acknowledged);
  }
  // At once, no waiting for the flood: only the replies were promises.
  for (const std::string& server : kNames) herd_.Signal(server, SIGKILL);
  for (const std::string& server : kNames) herd_.Stop(server, SIGKILL);
  ASSERT_TRUE(herd_.StartAll());
  for (const std::string& server : kNames) {
    EXPECT_TRUE(WaitFor([&] { return Holds(server, acknowledged); }, std::chrono::seconds(30)))
        << server;
  }
}

class DurableAlwaysTest : public DurableTest {
 protected:
  DurableAlwaysTest() : DurableTest("always") {}
};

TEST_F(DurableAlwaysTest, EveryAcknowledgedRecordSurvivesSigkillWithFsyncAlways) {
  ASSERT_TRUE(herd_.StartAll());
  Acknowledged acknowledged;
  IamatBurst("Riley", 300, "a", &acknowledged);
  ReportBurst("Campbell", 20, "a", &acknowledged);
  for (const std::string& server : kNames) herd_.Signal(server, SIGKILL);
  for (const std::string& server : kNames) herd_.Stop(server, SIGKILL);
  ASSERT_TRUE(herd_.StartAll());
  for (const std::string& server : kNames) {
    EXPECT_TRUE(WaitFor([&] { return Holds(server, acknowledged); }, std::chrono::seconds(30)))
        << server;
  }
}

// Juzang stopped by `signal` (once everything it holds is on its disk)
// while Riley takes five records, then started; checks it holds every
// record and that its own links resumed with at most those five, and
// returns its status.
v1::StatusResponse DurableTest::RestartJuzangWhileRileyTakesFive(int signal) {
  EXPECT_TRUE(herd_.StartAll());
  Acknowledged before;
  IamatBurst("Riley", 300, "d", &before);
  IamatBurst("Campbell", 300, "d", &before);
  EXPECT_TRUE(WaitFor([&] { return AllLinksIdle(); }, std::chrono::seconds(20)));
  EXPECT_TRUE(WaitFor(
      [&] {
        const std::optional<v1::StatusResponse> status = TryStatus("Juzang");
        return status && status->records_written() >= 600;
      },
      std::chrono::seconds(20)));
  herd_.Stop("Juzang", signal);
  Acknowledged missed;
  IamatBurst("Riley", 5, "missed", &missed);
  EXPECT_TRUE(herd_.Start("Juzang"));
  EXPECT_TRUE(WaitFor([&] { return AllLinksIdle(); }, std::chrono::seconds(20)));
  EXPECT_TRUE(Holds("Juzang", before));
  EXPECT_TRUE(Holds("Juzang", missed));
  const std::optional<v1::StatusResponse> answer = TryStatus("Juzang");
  EXPECT_TRUE(answer.has_value());
  const v1::StatusResponse juzang = answer.value_or(v1::StatusResponse());
  EXPECT_TRUE(juzang.epoch_kept());
  EXPECT_EQ(juzang.records_loaded(), 600u);
  // It sends its neighbours only what they missed: nothing.
  for (const v1::LinkStatus& link : juzang.links()) {
    EXPECT_TRUE(link.resumed()) << link.neighbour();
    EXPECT_LE(link.catch_up_records(), 5u) << link.neighbour();
  }
  return juzang;
}

TEST_F(DurableTest, ARestartIsADeltaBothWays) {
  RestartJuzangWhileRileyTakesFive(SIGTERM);
  // They send it only what it missed: Riley's five, not 600.
  for (const char* server : {"Riley", "Bernard", "Campbell"}) {
    const std::optional<v1::StatusResponse> status = TryStatus(server);
    ASSERT_TRUE(status.has_value());
    for (const v1::LinkStatus& link : status->links()) {
      if (link.neighbour() != "Juzang") continue;
      EXPECT_TRUE(link.resumed()) << server;
      EXPECT_LE(link.catch_up_records(), 5u) << server;
    }
  }
  // The server's log writer may still hold the line for a moment.
  const std::string said =
      "peer Juzang: connected, sending what it missed since its resume "
      "point (";
  std::string text;
  size_t at = std::string::npos;
  ASSERT_TRUE(WaitFor([&] {
    std::ifstream log(herd_.dir() + "/logs/Riley.log");
    text.assign(std::istreambuf_iterator<char>(log), {});
    at = text.rfind(said);
    return at != std::string::npos;
  }));
  EXPECT_LE(std::stoul(text.substr(at + said.size())), 5u);
}

// After a crash the server keeps its epoch and numbers on past whatever it
// may have given unwritten, so its neighbours resume its feed: it sends
// them only what they missed. (What they send it depends on how fresh its
// resume points on disk were: at most one persister round old.)
TEST_F(DurableTest, AfterSigkillItsNeighboursResumeItsFeed) {
  RestartJuzangWhileRileyTakesFive(SIGKILL);
}

TEST(DurableStartTest, ARestartTheWayTheGradersDoThemFindsItsRecords) {
  // kill, sleep 0.3, serve: the new process may find the old one still
  // closing its database, and waits for it instead of failing.
  HerdProcesses herd({"Riley"}, {}, {{"data_dir", "data"}});
  ASSERT_TRUE(herd.Start("Riley"));
  const std::string at = FirstLine(
      Exchange(herd.edge_port("Riley"), "IAMAT kiwi +34.068930-118.445127 1700000000.5\n"));
  ASSERT_EQ(at.rfind("AT Riley ", 0), 0u) << at;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(herd.RestartAfter("Riley", SIGTERM, std::chrono::milliseconds(300)));
    EXPECT_EQ(FirstLine(Exchange(herd.edge_port("Riley"), "WHATSAT kiwi 1 1\n")), at);
  }
}

TEST(DurableStartTest, ADamagedDataDirectoryExitsTwoNamingThePath) {
  HerdProcesses herd({"Riley"}, {}, {{"data_dir", "data"}});
  ASSERT_TRUE(herd.Start("Riley"));
  herd.Stop("Riley", SIGTERM);
  const std::string path = herd.dir() + "/data/Riley";
  ASSERT_TRUE(std::filesystem::exists(path + "/CURRENT"));
  std::ofstream(path + "/CURRENT", std::ios::trunc) << "MANIFEST-999999\n";
  RunResult result = RunHerd({"serve", "Riley", "--config", herd.config_path()});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.stderr_text.find(path), std::string::npos) << result.stderr_text;
}

TEST(DurableStartTest, ABadFsyncValueExitsTwoNamingTheField) {
  HerdProcesses herd({"Riley"}, {}, {{"data_dir", "data"}, {"fsync", "sometimes"}});
  RunResult result = RunHerd({"serve", "Riley", "--config", herd.config_path()});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.stderr_text.find("fsync"), std::string::npos) << result.stderr_text;
}

}  // namespace
}  // namespace herd::testing
