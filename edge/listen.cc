#include "edge/listen.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace herd {

absl::Status Listen(tcp::acceptor* acceptor, const tcp::endpoint& endpoint, std::string_view what) {
  boost::system::error_code ec;
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) return absl::OkStatus();
  boost::system::error_code ignored;
  acceptor->close(ignored);
  return absl::UnavailableError(absl::StrCat(AsAbsl(what), " ", endpoint.address().to_string(), ":",
                                             endpoint.port(), ": ", ec.message()));
}

}  // namespace herd
