#include "orderpulse/serve/asio.h"

#include <charconv>

#include "orderpulse/config/config.h"

namespace orderpulse {

tcp::endpoint parse_endpoint(const std::string& text, const char* what) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw ConfigError(std::string(what) + " address '" + text + "' must be HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const std::string port_text = text.substr(colon + 1);
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port > 65535)
    throw ConfigError(std::string(what) + " address '" + text + "' has a bad port");
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code addr_ec;
  auto addr = asio::ip::make_address(host, addr_ec);
  if (addr_ec) throw ConfigError(std::string(what) + " address '" + text + "': '" + host + "' is not an IP address");
  return {addr, static_cast<unsigned short>(port)};
}

std::string to_string(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  return (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" + std::to_string(ep.port());
}

}  // namespace orderpulse
