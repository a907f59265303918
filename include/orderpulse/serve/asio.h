#pragma once
// The one include of Boost.Asio/Beast for the project. Under C++20, Boost 1.74's Asio needs
// <utility> first.

#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace orderpulse {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;

// "127.0.0.1:9000" -> endpoint; throws ConfigError on a malformed address.
tcp::endpoint parse_endpoint(const std::string& text, const char* what);
std::string to_string(const tcp::endpoint& ep);
}  // namespace orderpulse
