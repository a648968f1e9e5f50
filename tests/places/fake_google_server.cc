#include "tests/places/fake_google_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/strings.h"

namespace herd::testing {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using nlohmann::json;

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    int value = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        absl::SimpleHexAtoi(AsAbsl(text.substr(i + 1, 2)), &value)) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else if (text[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::string RecordedRequest::Header(const std::string& name) const {
  const auto it = headers.find(absl::AsciiStrToLower(name));
  return it == headers.end() ? "" : it->second;
}

std::map<std::string, std::string> RecordedRequest::QueryParams() const {
  std::map<std::string, std::string> out;
  if (query.empty()) return out;
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    const size_t equals = pair.find('=');
    const std::string_view std_pair = AsStd(pair);
    if (equals == absl::string_view::npos) {
      out[PercentDecode(std_pair)] = "";
    } else {
      out[PercentDecode(std_pair.substr(0, equals))] = PercentDecode(std_pair.substr(equals + 1));
    }
  }
  return out;
}

FakeGoogleServer::FakeGoogleServer()
    : acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)),
      release_(io_, asio::steady_timer::time_point::max()),
      port_(acceptor_.local_endpoint().port()),
      handler_([](const RecordedRequest&) { return ScriptedResponse(); }) {
  asio::co_spawn(io_, Accept(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

FakeGoogleServer::~FakeGoogleServer() {
  io_.stop();
  thread_.join();
}

std::string FakeGoogleServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeGoogleServer::Respond(ScriptedResponse response) {
  SetHandler([response](const RecordedRequest&) { return response; });
}

void FakeGoogleServer::SetHandler(Handler handler) {
  absl::MutexLock l(&mu_);
  handler_ = std::move(handler);
}

void FakeGoogleServer::Release() {
  asio::post(io_, [this] { release_.cancel(); });
}

std::vector<RecordedRequest> FakeGoogleServer::requests() const {
  absl::MutexLock l(&mu_);
  return requests_;
}

size_t FakeGoogleServer::request_count() const {
  absl::MutexLock l(&mu_);
  return requests_.size();
}

size_t FakeGoogleServer::connection_count() const {
  absl::MutexLock l(&mu_);
  return connections_;
}

bool FakeGoogleServer::WaitForRequests(size_t count, std::chrono::milliseconds timeout) const {
  absl::MutexLock l(&mu_);
  const auto enough = [this, count]()
                          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return requests_.size() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Milliseconds(timeout.count()));
}

asio::awaitable<void> FakeGoogleServer::Accept() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    uint64_t connection;
    {
      absl::MutexLock l(&mu_);
      connection = ++connections_;
    }
    asio::co_spawn(io_, Serve(std::move(socket), connection), asio::detached);
  }
}

asio::awaitable<void> FakeGoogleServer::Serve(tcp::socket socket, uint64_t connection) {
  beast::flat_buffer buffer;
  for (;;) {
    boost::system::error_code ec;
    http::request<http::string_body> request;
    co_await http::async_read(socket, buffer, request,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    RecordedRequest recorded;
    recorded.connection = connection;
    recorded.method = std::string(request.method_string());
    recorded.target = std::string(request.target());
    const size_t question = recorded.target.find('?');
    recorded.path = recorded.target.substr(0, question);
    if (question != std::string::npos) recorded.query = recorded.target.substr(question + 1);
    for (const auto& field : request) {
      recorded.headers[absl::AsciiStrToLower(absl::string_view(
          field.name_string().data(), field.name_string().size()))] = std::string(field.value());
    }
    recorded.body = request.body();
    Handler handler;
    {
      absl::MutexLock l(&mu_);
      handler = handler_;
    }
    const ScriptedResponse scripted = handler(recorded);
    {
      absl::MutexLock l(&mu_);
      requests_.push_back(std::move(recorded));
    }
    switch (scripted.mode) {
      case ScriptedResponse::Mode::kAnswer:
        break;
      case ScriptedResponse::Mode::kHold:
        co_await release_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        break;
      case ScriptedResponse::Mode::kHang: {
        asio::steady_timer never(io_, asio::steady_timer::time_point::max());
        co_await never.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        co_return;
      }
      case ScriptedResponse::Mode::kClose:
        co_return;
    }
    http::response<http::string_body> response{static_cast<http::status>(scripted.status),
                                               request.version()};
    response.set(http::field::server, "fake-google");
    response.set(http::field::content_type, scripted.content_type);
    for (const auto& [name, value] : scripted.headers) response.set(name, value);
    response.keep_alive(request.keep_alive());
    response.body() = scripted.body;
    response.prepare_payload();
    co_await http::async_write(socket, response, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !response.keep_alive()) co_return;
  }
}

uint16_t RefusedPort() {
  // Bound but never listening: connecting is refused, and while the socket
  // stays open nobody else can take the port. Leaked on purpose (tests only).
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

std::string PlacesNewBody(int count) {
  json places = json::array();
  for (int i = 0; i < count; ++i) {
    places.push_back({
        {"id", "ChIJ-place-" + std::to_string(i)},
        {"displayName", {{"text", "Place " + std::to_string(i)}, {"languageCode", "en"}}},
        {"location", {{"latitude", 34.07 + i * 0.001}, {"longitude", -118.44 - i * 0.001}}},
        {"formattedAddress", std::to_string(i) + " Long Street, Los Angeles, CA 90024, USA"},
        {"shortFormattedAddress", std::to_string(i) + " Long Street, Los Angeles"},
        {"types", {"restaurant", "food", "point_of_interest", "establishment"}},
        {"rating", 4.5},
        {"userRatingCount", 100 + i},
        {"businessStatus", "OPERATIONAL"},
    });
  }
  return count == 0 ? "{}\n" : json{{"places", places}}.dump(2);
}

std::string LegacyBody(int count, const std::string& status) {
  json results = json::array();
  for (int i = 0; i < count; ++i) {
    results.push_back({
        {"place_id", "ChIJ-legacy-" + std::to_string(i)},
        {"name", "Legacy " + std::to_string(i)},
        {"geometry", {{"location", {{"lat", 34.07 + i * 0.001}, {"lng", -118.44}}}}},
        {"vicinity", "Westwood"},
        {"types", {"cafe", "food"}},
    });
  }
  return json{{"html_attributions", json::array()}, {"results", results}, {"status", status}}.dump(
      3);
}

}  // namespace herd::testing
