#ifndef HERD_COMMON_ASIO_H_
#define HERD_COMMON_ASIO_H_

// The one place that includes Boost.Asio. Boost 1.74 with GCC 12 needs
// <utility> before boost/asio/awaitable.hpp; BOOST_ASIO_HAS_CO_AWAIT and
// BOOST_ASIO_HAS_STD_COROUTINE are defined by the top-level CMakeLists.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace herd {
namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
}  // namespace herd

#endif  // HERD_COMMON_ASIO_H_
