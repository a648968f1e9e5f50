// Trust (SPEC section 8) on herds of real `herd serve` processes with real
// TLS, certificates made at test time by scripts/certs.sh: mutual TLS between
// peers (forged Flood streams refused, the herd still converging), bearer
// tokens on every public RPC, the separate peer port, protected mode, the
// future-time rule on all three paths, and resume points checked by the
// sender.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "herd/v1/herd.grpc.pb.h"
#include "herd/v1/locations.grpc.pb.h"
#include "herd/v1/peer.grpc.pb.h"
#include "tests/integration/herd_process.h"
#include "tests/testing/ports.h"

namespace herd::testing {
namespace {

using nlohmann::json;

constexpr char kAdminToken[] = "admin-secret-0123456789";
constexpr char kReadToken[] = "read-secret-0123456789";
constexpr char kReportToken[] = "report-secret-0123456789";

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string Sha256Hex(const std::string& secret) {
  // The same command README tells users to run.
  const std::string command = "printf '%s' '" + secret + "' | openssl dgst -sha256 -r";
  std::string out;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[256];
    while (fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
    pclose(pipe);
  }
  return out.substr(0, 64);
}

// The "auth" section with the three test tokens.
json AuthSection() {
  return {{"tokens",
           {{{"name", "admin"},
             {"sha256", Sha256Hex(kAdminToken)},
             {"roles", {"read", "report", "admin"}}},
            {{"name", "reader"}, {"sha256", Sha256Hex(kReadToken)}, {"roles", {"read"}}},
            {{"name", "reporter"}, {"sha256", Sha256Hex(kReportToken)}, {"roles", {"report"}}}}}};
}

json TlsSection() {
  return {{"ca_file", "certs/ca.pem"},
          {"cert_file", "certs/{name}.pem"},
          {"key_file", "certs/{name}.key"}};
}

// Runs scripts/certs.sh for the config at `config_path` into `dir`.
bool MakeCerts(const std::string& dir, const std::string& config_path) {
  const std::string command =
      "bash " HERD_SOURCE_DIR "/scripts/certs.sh '" + dir + "' '" + config_path + "' >/dev/null";
  return std::system(command.c_str()) == 0;
}

// Certificates for names that are not servers of the herd (impostors),
// signed by the CA in `dir` (or a CA of their own in another folder).
bool MakeExtraCerts(const std::string& dir, const std::vector<std::string>& names) {
  json config = {{"servers", json::array()}};
  int port = 1;
  for (const std::string& name : names) {
    config["servers"].push_back({{"name", name},
                                 {"edge", "127.0.0.1:" + std::to_string(port++)},
                                 {"grpc", "127.0.0.1:" + std::to_string(port++)}});
  }
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/extra.json";
  std::ofstream(path) << config.dump();
  return MakeCerts(dir, path);
}

// Rewrites the config of `herd` through `edit`.
void EditConfig(const HerdProcesses& herd, const std::function<void(json&)>& edit) {
  json config = json::parse(ReadFile(herd.config_path()));
  edit(config);
  std::ofstream(herd.config_path()) << config.dump(2);
}

std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(const std::string& certs,
                                                         const std::string& client = "") {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(certs + "/ca.pem");
  if (!client.empty()) {
    ssl.pem_private_key = ReadFile(certs + "/" + client + ".key");
    ssl.pem_cert_chain = ReadFile(certs + "/" + client + ".pem");
  }
  return grpc::SslCredentials(ssl);
}

std::unique_ptr<grpc::ClientContext> Context(
    const std::string& token = "", std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

v1::Record ForgedRecord(const std::string& client, const std::string& origin,
                        const std::string& client_time) {
  v1::Record record;
  record.set_client_id(client);
  record.set_origin(origin);
  record.set_skew("+0.000000001");
  record.set_location("+34.068930-118.445127");
  record.set_client_time(client_time);
  return record;
}

// A fake neighbour: opens Flood on `channel`, says hello as `name` (with
// `epoch`), sends `batch`, and returns how the stream ended. A stream that is
// accepted is half-closed by the fake after its batch is acknowledged.
struct FakeFloodResult {
  grpc::Status status;
  bool welcomed = false;
  bool acknowledged = false;
};

FakeFloodResult FakeFlood(std::shared_ptr<grpc::Channel> channel, const std::string& name,
                          uint64_t epoch, const v1::FloodRequest& batch) {
  auto stub = v1::Peer::NewStub(channel);
  auto context = Context();
  auto stream = stub->Flood(context.get());
  FakeFloodResult result;
  v1::FloodRequest hello;
  hello.mutable_hello()->set_name(name);
  hello.mutable_hello()->set_epoch(epoch);
  stream->Write(hello);
  stream->Write(batch);
  v1::FloodResponse response;
  while (stream->Read(&response)) {
    if (response.has_welcome()) result.welcomed = true;
    if (response.has_ack()) {
      result.acknowledged = true;
      stream->WritesDone();
    }
  }
  result.status = stream->Finish();
  return result;
}

v1::FloodRequest BatchOf(std::vector<v1::Record> records, uint64_t cursor_value = 1) {
  v1::FloodRequest batch;
  for (v1::Record& record : records) *batch.add_records() = std::move(record);
  for (int s = 0; s < 16; ++s) batch.mutable_cursor()->add_seen(cursor_value);
  return batch;
}

std::string Iamat(const HerdProcesses& herd, const std::string& server, const std::string& client,
                  const std::string& time) {
  return FirstLine(Exchange(herd.edge_port(server),
                            "IAMAT " + client + " +34.068930-118.445127 " + time + "\n"));
}

// Whether `server` answers WHATSAT for `client` with exactly `at_line`.
bool Knows(const HerdProcesses& herd, const std::string& server, const std::string& client,
           const std::string& at_line) {
  return FirstLine(Exchange(herd.edge_port(server), "WHATSAT " + client + " 10 1\n")) == at_line;
}

std::string Now(int64_t offset_s = 0) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count() + offset_s) +
         ".5";
}

// --- A secure five-server herd ------------------------------------------

class SecureHerdTest : public ::testing::Test {
 protected:
  SecureHerdTest()
      : herd_(kDefaultHerdNames, kDefaultHerdLinks,
              {{"tls", TlsSection()}, {"auth", AuthSection()}}) {}

  void SetUp() override {
    ASSERT_TRUE(MakeCerts(certs(), herd_.config_path()));
    ASSERT_TRUE(herd_.StartAll());
  }

  std::string certs() const { return herd_.dir() + "/certs"; }
  std::string Target(const std::string& server) const {
    return "127.0.0.1:" + std::to_string(herd_.grpc_port(server));
  }
  std::shared_ptr<grpc::Channel> Channel(const std::string& server,
                                         const std::string& client_cert = "") {
    return grpc::CreateChannel(Target(server), TlsCredentials(certs(), client_cert));
  }
  std::optional<v1::StatusResponse> Status(const std::string& server) {
    v1::StatusResponse status;
    auto context = Context(kAdminToken);
    if (!v1::Admin::NewStub(Channel(server))
             ->Status(context.get(), v1::StatusRequest(), &status)
             .ok()) {
      return std::nullopt;
    }
    return status;
  }
  bool AllLinksConnected(const std::string& server) {
    std::optional<v1::StatusResponse> status = Status(server);
    if (!status) return false;
    for (const v1::LinkStatus& link : status->links()) {
      if (link.state() != v1::LinkStatus::CONNECTED || !link.inbound_connected()) return false;
    }
    return true;
  }

  HerdProcesses herd_;
};

TEST_F(SecureHerdTest, ConvergesOverMutualTls) {
  for (const std::string& name : kDefaultHerdNames) {
    EXPECT_TRUE(WaitFor([&] { return AllLinksConnected(name); })) << name;
  }
  const std::string at = Iamat(herd_, "Riley", "kiwi.cs.ucla.edu", "1621464827.959498503");
  ASSERT_EQ(at.substr(0, 9), "AT Riley ");
  for (const std::string& name : kDefaultHerdNames) {
    EXPECT_TRUE(WaitFor([&] { return Knows(herd_, name, "kiwi.cs.ucla.edu", at); })) << name;
  }
}

TEST_F(SecureHerdTest, ForgedFloodsAreRefusedAndTheHerdStillConverges) {
  ASSERT_TRUE(MakeExtraCerts(certs(), {"Mallory"}));
  const std::string other_ca = herd_.dir() + "/other-ca";
  ASSERT_TRUE(MakeExtraCerts(other_ca, {"Jaquez"}));
  const v1::FloodRequest forged =
      BatchOf({ForgedRecord("forged.client", "Jaquez", "9999999999999999999.999999999")});

  // No TLS at all: no stream.
  FakeFloodResult plaintext =
      FakeFlood(grpc::CreateChannel(Target("Riley"), grpc::InsecureChannelCredentials()), "Jaquez",
                1, forged);
  EXPECT_EQ(plaintext.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // TLS without a client certificate.
  FakeFloodResult anonymous = FakeFlood(Channel("Riley"), "Jaquez", 1, forged);
  EXPECT_EQ(anonymous.status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << anonymous.status.error_message();
  // A certificate from the herd's CA, for another name.
  FakeFloodResult wrong_name = FakeFlood(Channel("Riley", "Mallory"), "Jaquez", 1, forged);
  EXPECT_EQ(wrong_name.status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << wrong_name.status.error_message();
  // A real member of the herd, but not Riley's neighbour.
  FakeFloodResult not_neighbour =
      FakeFlood(Channel("Riley", "Campbell"), "Campbell", 1,
                BatchOf({ForgedRecord("forged.client", "Campbell", "99999999999")}));
  EXPECT_EQ(not_neighbour.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << not_neighbour.status.error_message();
  // The right name from another CA: the handshake fails.
  grpc::SslCredentialsOptions foreign;
  foreign.pem_root_certs = ReadFile(certs() + "/ca.pem");
  foreign.pem_private_key = ReadFile(other_ca + "/Jaquez.key");
  foreign.pem_cert_chain = ReadFile(other_ca + "/Jaquez.pem");
  FakeFloodResult foreign_ca = FakeFlood(
      grpc::CreateChannel(Target("Riley"), grpc::SslCredentials(foreign)), "Jaquez", 1, forged);
  EXPECT_EQ(foreign_ca.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  for (const FakeFloodResult* result :
       {&plaintext, &anonymous, &wrong_name, &not_neighbour, &foreign_ca}) {
    EXPECT_FALSE(result->welcomed);
  }

  // None of it landed, and the herd still floods.
  EXPECT_EQ(FirstLine(Exchange(herd_.edge_port("Riley"), "WHATSAT forged.client 10 1\n")),
            "? WHATSAT forged.client 10 1");
  const std::string at = Iamat(herd_, "Jaquez", "after.forgery", Now());
  for (const std::string& name : kDefaultHerdNames) {
    EXPECT_TRUE(WaitFor([&] { return Knows(herd_, name, "after.forgery", at); })) << name;
  }
}

TEST_F(SecureHerdTest, AGenuineNeighbourCertificateIsAccepted) {
  // The control for the refusals above: Jaquez's own certificate and name
  // open a stream that Riley applies.
  FakeFloodResult genuine =
      FakeFlood(Channel("Riley", "Jaquez"), "Jaquez", 7,
                BatchOf({ForgedRecord("from.jaquez", "Jaquez", "1621464827.5")}));
  EXPECT_TRUE(genuine.welcomed);
  EXPECT_TRUE(genuine.acknowledged);
  EXPECT_TRUE(genuine.status.ok()) << genuine.status.error_message();
  EXPECT_TRUE(Knows(herd_, "Riley", "from.jaquez",
                    "AT Jaquez +0.000000001 from.jaquez +34.068930-118.445127 1621464827.5"));
}

// A TLS listener standing where a neighbour should be, presenting the
// certificate `cert` (from `certs`), speaking just enough of gRPC's TLS (ALPN
// h2) to see whether the dialler goes on after the handshake: a dialler that
// accepts the certificate sends the HTTP/2 preface, one that refuses it
// hangs up. Runs on a thread of its own until destroyed.
class ImpostorListener {
 public:
  ImpostorListener(uint16_t port, const std::string& certs, const std::string& cert)
      : context_(SSL_CTX_new(TLS_server_method())) {
    signal(SIGPIPE, SIG_IGN);  // a dialler that hangs up mid-handshake
    SSL_CTX_use_certificate_chain_file(context_, (certs + "/" + cert + ".pem").c_str());
    SSL_CTX_use_PrivateKey_file(context_, (certs + "/" + cert + ".key").c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_set_alpn_select_cb(context_, SelectH2, nullptr);
    listener_ = ListenLoopback(port);
    bound_ = listener_ >= 0;
    thread_ = std::thread([this] { Serve(); });
  }
  ~ImpostorListener() {
    stop_ = true;
    shutdown(listener_, SHUT_RDWR);
    thread_.join();
    close(listener_);
    SSL_CTX_free(context_);
  }

  bool bound() const { return bound_; }
  int went_on() const { return went_on_.load(); }  // sent the HTTP/2 preface
  int hung_up() const { return hung_up_.load(); }  // closed after the handshake

 private:
  static int SelectH2(SSL*, const unsigned char** out, unsigned char* out_length,
                      const unsigned char* in, unsigned int in_length, void*) {
    static const unsigned char kH2[] = {2, 'h', '2'};
    unsigned char* selected;
    if (SSL_select_next_proto(&selected, out_length, kH2, sizeof kH2, in, in_length) !=
        OPENSSL_NPN_NEGOTIATED) {
      return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }

  void Serve() {
    while (!stop_) {
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      timeval timeout{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      SSL* ssl = SSL_new(context_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        char buffer[24];
        const int n = SSL_read(ssl, buffer, sizeof buffer);
        if (n > 0 && std::string(buffer, n).rfind("PRI * HTTP/2.0", 0) == 0) {
          ++went_on_;
        } else {
          ++hung_up_;
        }
      } else {
        ++hung_up_;
      }
      SSL_free(ssl);
      close(fd);
    }
  }

  SSL_CTX* context_;
  int listener_ = -1;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> went_on_{0};
  std::atomic<int> hung_up_{0};
  std::thread thread_;
};

TEST(DiallerTest, AServerThatIsNotTheNeighbourIsNotFlooded) {
  HerdProcesses herd({"Riley", "Jaquez", "Campbell"}, {{"Riley", "Jaquez"}},
                     {{"tls", TlsSection()}});
  const std::string certs = herd.dir() + "/certs";
  ASSERT_TRUE(MakeCerts(certs, herd.config_path()));
  {
    // Where Jaquez should be: a server with Campbell's certificate (the
    // same CA, another name). Riley hangs up on it, every time.
    ImpostorListener impostor(herd.grpc_port("Jaquez"), certs, "Campbell");
    ASSERT_TRUE(impostor.bound());
    ASSERT_TRUE(herd.Start("Riley"));
    EXPECT_TRUE(WaitFor([&] { return impostor.hung_up() >= 2; }));
    EXPECT_EQ(impostor.went_on(), 0);
  }
  // The control: with Jaquez's own certificate, Riley goes on to HTTP/2.
  ImpostorListener genuine(herd.grpc_port("Jaquez"), certs, "Jaquez");
  ASSERT_TRUE(genuine.bound());
  EXPECT_TRUE(WaitFor([&] { return genuine.went_on() >= 1; }));
}

// --- Tokens on every public RPC -----------------------------------------

// One server with "auth", over TLS or (on loopback) without it.
class TokenTest : public ::testing::TestWithParam<bool> {
 protected:
  TokenTest() : herd_({"Riley"}, {}, Extra(GetParam())) {}

  static json Extra(bool tls) {
    json extra = {{"auth", AuthSection()}};
    if (tls) extra["tls"] = TlsSection();
    return extra;
  }

  void SetUp() override {
    if (GetParam()) {
      ASSERT_TRUE(MakeCerts(herd_.dir() + "/certs", herd_.config_path()));
    }
    ASSERT_TRUE(herd_.Start("Riley"));
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(herd_.grpc_port("Riley")),
                                   GetParam() ? TlsCredentials(herd_.dir() + "/certs")
                                              : grpc::InsecureChannelCredentials());
    ASSERT_TRUE(
        channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
    Iamat(herd_, "Riley", "kiwi.cs.ucla.edu", "1621464827.959498503");
  }

  // Each public RPC, called with `token` (empty: no metadata).
  std::vector<std::pair<std::string, grpc::Status>> CallEveryRpc(const std::string& token) {
    auto locations = v1::Locations::NewStub(channel_);
    std::vector<std::pair<std::string, grpc::Status>> out;
    {
      v1::GetRequest request;
      request.set_client_id("kiwi.cs.ucla.edu");
      v1::Location response;
      out.emplace_back("Get", locations->Get(Context(token).get(), request, &response));
    }
    {
      v1::ListResponse response;
      out.emplace_back("List", locations->List(Context(token).get(), v1::ListRequest(), &response));
    }
    {
      v1::WithinRequest request;
      request.set_latitude(34.07);
      request.set_longitude(-118.44);
      request.set_radius_km(5);
      v1::WithinResponse response;
      out.emplace_back("Within", locations->Within(Context(token).get(), request, &response));
    }
    {
      v1::NearbyRequest request;
      request.set_client_id("kiwi.cs.ucla.edu");
      request.set_radius_km(10);
      request.set_max_results(2);
      v1::NearbyResponse response;
      out.emplace_back("Nearby", locations->Nearby(Context(token).get(), request, &response));
    }
    {
      auto context = Context(token);
      v1::WatchRequest request;
      request.set_include_current(true);
      auto reader = locations->Watch(context.get(), request);
      v1::WatchResponse first;
      if (reader->Read(&first)) {
        context->TryCancel();  // the stream was granted: enough
        reader->Finish();
        out.emplace_back("Watch", grpc::Status::OK);
      } else {
        out.emplace_back("Watch", reader->Finish());
      }
    }
    {
      v1::ReportRequest request;
      request.set_client_id("reported.client");
      request.set_latitude(34.0);
      request.set_longitude(-118.0);
      *request.mutable_client_time() =
          google::protobuf::util::TimeUtil::SecondsToTimestamp(1'621'464'827);
      v1::ReportResponse response;
      out.emplace_back("Report", locations->Report(Context(token).get(), request, &response));
    }
    {
      v1::StatusResponse response;
      out.emplace_back("Admin.Status", v1::Admin::NewStub(channel_)->Status(
                                           Context(token).get(), v1::StatusRequest(), &response));
    }
    return out;
  }

  HerdProcesses herd_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_P(TokenTest, NoOrUnknownTokenIsUnauthenticated) {
  for (const std::string& token : {std::string(), std::string("not-a-token")}) {
    for (const auto& [rpc, status] : CallEveryRpc(token)) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << rpc << " with \"" << token << "\": " << status.error_message();
    }
  }
}

TEST_P(TokenTest, RolesDecideEachRpc) {
  const std::map<std::string, std::vector<std::string>> allowed = {
      {kAdminToken, {"Get", "List", "Within", "Nearby", "Watch", "Report", "Admin.Status"}},
      {kReadToken, {"Get", "List", "Within", "Nearby", "Watch"}},
      {kReportToken, {"Report"}}};
  for (const auto& [token, rpcs] : allowed) {
    for (const auto& [rpc, status] : CallEveryRpc(token)) {
      const bool may = std::find(rpcs.begin(), rpcs.end(), rpc) != rpcs.end();
      EXPECT_EQ(status.error_code(),
                may ? grpc::StatusCode::OK : grpc::StatusCode::PERMISSION_DENIED)
          << rpc << " with the token of " << rpcs.size() << " RPCs: " << status.error_message();
    }
  }
}

TEST_P(TokenTest, HealthStaysOpen) {
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = grpc::health::v1::Health::NewStub(channel_)->Check(
      Context().get(), grpc::health::v1::HealthCheckRequest(), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_P(TokenTest, TokensNeverReachTheLog) {
  CallEveryRpc(kAdminToken);
  CallEveryRpc(kReadToken);
  CallEveryRpc("not-a-token");
  const std::string log = herd_.dir() + "/logs/Riley.log";
  ASSERT_TRUE(WaitFor(
      [&] { return ReadFile(log).find("token \"reader\" lacks the role") != std::string::npos; }));
  const std::string text = ReadFile(log);
  for (const char* secret : {kAdminToken, kReadToken, "not-a-token"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
}

INSTANTIATE_TEST_SUITE_P(TlsAndLoopback, TokenTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Tls" : "LoopbackPlaintext";
                         });

// --- The peer port --------------------------------------------------------

TEST(PeerPortTest, PeersUseTheirOwnPortAndOnlyThere) {
  HerdProcesses herd({"Riley", "Jaquez"}, {{"Riley", "Jaquez"}},
                     {{"tls", TlsSection()}, {"auth", AuthSection()}});
  const std::vector<uint16_t> peer_ports = herd.MorePorts(2);
  EditConfig(herd, [&](json& config) {
    for (int i = 0; i < 2; ++i) {
      config["servers"][i]["peer"] = "127.0.0.1:" + std::to_string(peer_ports[i]);
    }
  });
  const std::string certs = herd.dir() + "/certs";
  ASSERT_TRUE(MakeCerts(certs, herd.config_path()));
  ASSERT_TRUE(herd.StartAll());
  const std::string at = Iamat(herd, "Riley", "over.the.peer.port", Now());
  EXPECT_TRUE(WaitFor([&] { return Knows(herd, "Jaquez", "over.the.peer.port", at); }));

  const std::string grpc_target = "127.0.0.1:" + std::to_string(herd.grpc_port("Riley"));
  const std::string peer_target = "127.0.0.1:" + std::to_string(peer_ports[0]);
  // Flood is not on the grpc port any more...
  FakeFloodResult on_grpc = FakeFlood(
      grpc::CreateChannel(grpc_target, TlsCredentials(certs, "Jaquez")), "Jaquez", 1, BatchOf({}));
  EXPECT_EQ(on_grpc.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // ...and the public services are not on the peer port.
  v1::StatusResponse status;
  grpc::Status admin =
      v1::Admin::NewStub(grpc::CreateChannel(peer_target, TlsCredentials(certs, "Jaquez")))
          ->Status(Context(kAdminToken).get(), v1::StatusRequest(), &status);
  EXPECT_EQ(admin.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // The peer port asks every caller for a certificate of the herd.
  FakeFloodResult anonymous =
      FakeFlood(grpc::CreateChannel(peer_target, TlsCredentials(certs)), "Jaquez", 1, BatchOf({}));
  EXPECT_EQ(anonymous.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

// --- The health port ---------------------------------------------------------

TEST(HealthPortTest, PlaintextHealthAloneBesideTls) {
  // Probes that cannot speak TLS (Kubernetes' gRPC probes) get a port of
  // their own that tells whether the server serves, and nothing else.
  HerdProcesses herd({"Riley"}, {}, {{"tls", TlsSection()}, {"auth", AuthSection()}});
  const uint16_t health_port = herd.MorePorts(1)[0];
  EditConfig(herd, [&](json& config) {
    config["servers"][0]["health"] = "127.0.0.1:" + std::to_string(health_port);
  });
  ASSERT_TRUE(MakeCerts(herd.dir() + "/certs", herd.config_path()));
  ASSERT_TRUE(herd.Start("Riley"));
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(health_port),
                                     grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  for (const char* service : {"", "herd.v1.Locations", "herd.v1.Peer", "herd.v1.Admin"}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    auto context = Context();
    context->set_wait_for_ready(true);
    grpc::Status status = health->Check(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << service << ": " << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
  grpc::health::v1::HealthCheckRequest unknown;
  unknown.set_service("herd.v1.Nope");
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_EQ(health->Check(Context().get(), unknown, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::StatusResponse status;
  EXPECT_EQ(v1::Admin::NewStub(channel)
                ->Status(Context(kAdminToken).get(), v1::StatusRequest(), &status)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // Not even reflection: the port describes nothing.
  {
    using grpc::reflection::v1alpha::ServerReflection;
    auto context = Context();
    auto stream = ServerReflection::NewStub(channel)->ServerReflectionInfo(context.get());
    grpc::reflection::v1alpha::ServerReflectionRequest list;
    list.set_list_services("*");
    stream->Write(list);
    stream->WritesDone();
    grpc::reflection::v1alpha::ServerReflectionResponse answer;
    EXPECT_FALSE(stream->Read(&answer));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  v1::GetRequest get;
  get.set_client_id("kiwi.cs.ucla.edu");
  v1::Location location;
  EXPECT_EQ(
      v1::Locations::NewStub(channel)->Get(Context(kReadToken).get(), get, &location).error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
}

// --- The text protocol over TLS ----------------------------------------------

// A blocking TLS client of the text edge that verifies the server against
// the herd's CA (OpenSSL directly, as any client would).
class TlsLineClient {
 public:
  TlsLineClient(uint16_t port, const std::string& ca_file)
      : ssl_context_(SSL_CTX_new(TLS_client_method())) {
    SSL_CTX_load_verify_locations(ssl_context_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ssl_context_, SSL_VERIFY_PEER, nullptr);
    fd_ = ConnectLoopback(port);
    ssl_ = SSL_new(ssl_context_);
    SSL_set_fd(ssl_, fd_);
    SSL_set1_host(ssl_, "127.0.0.1");
    connected_ = fd_ >= 0 && SSL_connect(ssl_) == 1;
  }
  ~TlsLineClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ssl_context_);
    if (fd_ >= 0) close(fd_);
  }

  bool connected() const { return connected_; }

  // Sends `text`, ends the TLS session (close_notify) and reads to the end.
  std::string SendAndClose(const std::string& text) {
    SSL_write(ssl_, text.data(), static_cast<int>(text.size()));
    SSL_shutdown(ssl_);
    std::string out;
    char buffer[4096];
    for (int n; (n = SSL_read(ssl_, buffer, sizeof buffer)) > 0;) out.append(buffer, n);
    return out;
  }

  // Sends `text` and reads until the reply ends with `end` (or EOF).
  std::string Exchange(const std::string& text, const std::string& end = "\n") {
    SSL_write(ssl_, text.data(), static_cast<int>(text.size()));
    std::string out;
    char buffer[4096];
    while (out.size() < end.size() || out.compare(out.size() - end.size(), end.size(), end)) {
      const int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n <= 0) break;
      out.append(buffer, n);
    }
    return out;
  }

 private:
  SSL_CTX* ssl_context_;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
};

TEST(EdgeTlsTest, TheSameProtocolOverTls) {
  HerdProcesses herd({"Riley"}, {}, {{"tls", TlsSection()}});
  const uint16_t tls_port = herd.MorePorts(1)[0];
  EditConfig(herd, [&](json& config) {
    config["servers"][0]["edge_tls"] = "127.0.0.1:" + std::to_string(tls_port);
  });
  const std::string certs = herd.dir() + "/certs";
  ASSERT_TRUE(MakeCerts(certs, herd.config_path()));
  ASSERT_TRUE(herd.Start("Riley"));
  ASSERT_TRUE(WaitFor([&] { return Accepting(tls_port); }));

  TlsLineClient client(tls_port, certs + "/ca.pem");
  ASSERT_TRUE(client.connected());
  const std::string at =
      client.Exchange("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503\n");
  EXPECT_EQ(at.substr(0, 9), "AT Riley ") << at;
  EXPECT_EQ(client.Exchange("IAMAT Clark +12-118\n"), "? IAMAT Clark +12-118\n");
  const std::string whatsat = client.Exchange("WHATSAT kiwi.cs.ucla.edu 10 2\n", "}\n\n");
  EXPECT_EQ(FirstLine(whatsat) + "\n", at);
  EXPECT_NE(whatsat.find("\"results\""), std::string::npos);
  // The plain edge sees the same store.
  EXPECT_EQ(FirstLine(Exchange(herd.edge_port("Riley"), "WHATSAT kiwi.cs.ucla.edu 10 1\n")) + "\n",
            at);
  // Plaintext on the TLS port is not the protocol: no reply, the server lives on.
  EXPECT_EQ(Exchange(tls_port, "IAMAT a +1+1 1\n").find("AT "), std::string::npos);
  TlsLineClient again(tls_port, certs + "/ca.pem");
  ASSERT_TRUE(again.connected());
  EXPECT_EQ(again.Exchange("WHATSAT kiwi.cs.ucla.edu 10 1\n", "}\n\n").substr(0, 9), "AT Riley ");
  // A last line without '\n' before the client ends its session is a
  // command, as on the plain port, and every answer arrives before the end.
  TlsLineClient closing(tls_port, certs + "/ca.pem");
  ASSERT_TRUE(closing.connected());
  const std::string last = closing.SendAndClose(
      "IAMAT Clark +12-118\nIAMAT last.line +34.068930-118.445127 1621464827.5");
  EXPECT_EQ(last.substr(0, 22), "? IAMAT Clark +12-118\n") << last;
  EXPECT_NE(last.find("AT Riley "), std::string::npos) << last;
  EXPECT_NE(last.find(" last.line +34.068930-118.445127 1621464827.5\n"), std::string::npos)
      << last;
}

// --- Protected mode --------------------------------------------------------

TEST(ProtectedModeTest, AnAddressBeyondLoopbackNeedsTlsAndAuth) {
  HerdProcesses herd({"Riley"}, {});
  EditConfig(herd, [](json& config) {
    std::string grpc = config["servers"][0]["grpc"];
    config["servers"][0]["grpc"] = "0.0.0.0" + grpc.substr(grpc.find(':'));
  });
  RunResult refused = RunHerd({"serve", "Riley", "--config", herd.config_path()});
  EXPECT_EQ(refused.exit_status, 2);
  EXPECT_NE(refused.stderr_text.find("servers[0].grpc: 0.0.0.0:"), std::string::npos)
      << refused.stderr_text;
  EXPECT_NE(refused.stderr_text.find("protected mode"), std::string::npos);
  EXPECT_EQ(std::count(refused.stderr_text.begin(), refused.stderr_text.end(), '\n'), 1);

  EditConfig(herd, [](json& config) { config["insecure"] = true; });
  EXPECT_TRUE(herd.Start("Riley"));
  herd.Stop("Riley", SIGTERM);

  EditConfig(herd, [](json& config) {
    config.erase("insecure");
    config["tls"] = TlsSection();
    config["auth"] = AuthSection();
  });
  ASSERT_TRUE(MakeCerts(herd.dir() + "/certs", herd.config_path()));
  EXPECT_TRUE(herd.Start("Riley"));
}

TEST(ProtectedModeTest, BadCertificatesStopTheStartNamingTheField) {
  HerdProcesses herd({"Riley", "Jaquez"}, {}, {{"tls", TlsSection()}});
  ASSERT_TRUE(MakeCerts(herd.dir() + "/certs", herd.config_path()));
  // Riley's certificate swapped for Jaquez's: it does not name Riley.
  EditConfig(herd, [](json& config) { config["tls"]["cert_file"] = "certs/Jaquez.pem"; });
  RunResult wrong = RunHerd({"serve", "Riley", "--config", herd.config_path()});
  EXPECT_EQ(wrong.exit_status, 2);
  EXPECT_NE(wrong.stderr_text.find("tls.key_file: "), std::string::npos) << wrong.stderr_text;
  EditConfig(herd, [](json& config) {
    config["tls"]["cert_file"] = "certs/Jaquez.pem";
    config["tls"]["key_file"] = "certs/Jaquez.key";
  });
  wrong = RunHerd({"serve", "Riley", "--config", herd.config_path()});
  EXPECT_EQ(wrong.exit_status, 2);
  EXPECT_NE(wrong.stderr_text.find("has no DNS name \"Riley\""), std::string::npos)
      << wrong.stderr_text;
  EditConfig(herd, [](json& config) { config["tls"]["ca_file"] = "certs/missing.pem"; });
  wrong = RunHerd({"serve", "Riley", "--config", herd.config_path()});
  EXPECT_EQ(wrong.exit_status, 2);
  EXPECT_NE(wrong.stderr_text.find("tls.ca_file: "), std::string::npos) << wrong.stderr_text;
}

// --- Client times from the future ------------------------------------------

TEST(FutureTimeTest, RefusedOnTheEdgeOnReportAndFromPeers) {
  HerdProcesses herd({"Riley", "Jaquez"}, {{"Riley", "Jaquez"}}, {{"max_future_s", 3600}});
  ASSERT_TRUE(herd.Start("Riley"));  // Jaquez stays down: the test plays it

  EXPECT_EQ(Iamat(herd, "Riley", "soon", Now(1800)).substr(0, 9), "AT Riley ");
  const std::string later = "IAMAT later +34.068930-118.445127 " + Now(7200);
  EXPECT_EQ(FirstLine(Exchange(herd.edge_port("Riley"), later + "\n")), "? " + later);

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(herd.grpc_port("Riley")),
                                     grpc::InsecureChannelCredentials());
  v1::ReportRequest report;
  report.set_client_id("reported.later");
  report.set_latitude(34.0);
  report.set_longitude(-118.0);
  *report.mutable_client_time() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() +
      7200);
  v1::ReportResponse response;
  grpc::Status status = v1::Locations::NewStub(channel)->Report(Context().get(), report, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("client_time: ", 0), 0u) << status.error_message();

  // One record far ahead of Riley's clock (its time difference forged), one
  // whose own origin saw it too far ahead, one fine.
  v1::Record origin_broke_the_rule = ForgedRecord("origin.saw.it.ahead", "Jaquez", Now(100));
  origin_broke_the_rule.set_skew("-5000.000000000");
  FakeFloodResult flood =
      FakeFlood(channel, "Jaquez", 1,
                BatchOf({ForgedRecord("from.the.future", "Jaquez", Now(7200)),
                         origin_broke_the_rule, ForgedRecord("from.now", "Jaquez", Now())}));
  EXPECT_TRUE(flood.acknowledged);
  EXPECT_EQ(FirstLine(Exchange(herd.edge_port("Riley"), "WHATSAT from.the.future 10 1\n")),
            "? WHATSAT from.the.future 10 1");
  EXPECT_EQ(FirstLine(Exchange(herd.edge_port("Riley"), "WHATSAT from.now 10 1\n")).substr(0, 10),
            "AT Jaquez ");
  v1::StatusResponse admin;
  ASSERT_TRUE(
      v1::Admin::NewStub(channel)->Status(Context().get(), v1::StatusRequest(), &admin).ok());
  ASSERT_EQ(admin.links_size(), 1);
  EXPECT_EQ(FirstLine(Exchange(herd.edge_port("Riley"), "WHATSAT origin.saw.it.ahead 10 1\n")),
            "? WHATSAT origin.saw.it.ahead 10 1");
  EXPECT_EQ(admin.links(0).records_received(), 3u);
  EXPECT_EQ(admin.links(0).records_dropped(), 2u);
  EXPECT_EQ(admin.links(0).records_accepted(), 1u);
}

// --- Resume points are the sender's to check ---------------------------------

TEST(ResumePointTest, APoisonedCursorMeansAFullTransferNotSilence) {
  // Plaintext on loopback: anyone can play a neighbour (which is why TLS
  // exists), and the sender must still not trust the resume point.
  HerdProcesses herd({"Riley", "Jaquez"}, {{"Riley", "Jaquez"}});
  ASSERT_TRUE(herd.StartAll());
  auto channel = [&](const std::string& server) {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(herd.grpc_port(server)),
                               grpc::InsecureChannelCredentials());
  };
  auto status_of = [&](const std::string& server) {
    v1::StatusResponse status;
    v1::Admin::NewStub(channel(server))->Status(Context().get(), v1::StatusRequest(), &status);
    return status;
  };
  const std::string first = Iamat(herd, "Jaquez", "before.poison", Now());
  ASSERT_TRUE(WaitFor([&] { return Knows(herd, "Riley", "before.poison", first); }));
  // And the real stream falls silent: its last batch asked for (and got)
  // its acknowledgement, so nothing it sends overwrites the poison below.
  ASSERT_TRUE(WaitFor([&] { return status_of("Jaquez").links(0).backlog() == 0; }));

  // A fake Jaquez, with the real one's epoch, acknowledges "everything".
  const uint64_t jaquez_epoch = status_of("Jaquez").epoch();
  ASSERT_NE(jaquez_epoch, 0u);
  FakeFloodResult poison =
      FakeFlood(channel("Riley"), "Jaquez", jaquez_epoch, BatchOf({}, ~uint64_t{0}));
  ASSERT_TRUE(poison.acknowledged);

  // The real Jaquez's stream drops (Riley stops answering long enough for
  // the keepalive to give up) and resumes where Riley says.
  herd.Signal("Riley", SIGSTOP);
  auto jaquez_link = [&] { return status_of("Jaquez").links(0); };
  const bool dropped = WaitFor([&] { return jaquez_link().state() != v1::LinkStatus::CONNECTED; },
                               std::chrono::seconds(15));
  herd.Signal("Riley", SIGCONT);
  ASSERT_TRUE(dropped);
  ASSERT_TRUE(WaitFor([&] { return jaquez_link().state() == v1::LinkStatus::CONNECTED; }));

  const std::string log = herd.dir() + "/logs/Jaquez.log";
  EXPECT_TRUE(WaitFor([&] {
    return ReadFile(log).find(
               "peer Riley: its resume point is not one this server's feed has "
               "reached; sending the full state instead") != std::string::npos;
  }));
  // Floods go on: without the check, Jaquez would resume "after the end".
  const std::string second = Iamat(herd, "Jaquez", "after.poison", Now());
  EXPECT_TRUE(WaitFor([&] { return Knows(herd, "Riley", "after.poison", second); }));
}

}  // namespace
}  // namespace herd::testing
