#pragma once
// The HTTP port (Boost.Beast): the dashboard page, the WebSocket feed upgrade, /metrics, health
// and the JSON snapshot. Owns the acceptor; sessions own themselves. Network thread only; the
// route callbacks run there too and must only read thread-safe state.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "orderpulse/serve/asio.h"
#include "orderpulse/serve/feed_hub.h"

namespace orderpulse {

struct HttpRoutes {
  std::string_view dashboard_html;
  std::function<std::string()> metrics;                          // Prometheus text
  std::function<std::shared_ptr<const std::string>()> snapshot;  // the current snapshot message
  std::function<bool()> ready;
};

class HttpServer {
 public:
  // Binds and listens; throws boost::system::system_error (e.g. address in use).
  HttpServer(asio::io_context& io, const tcp::endpoint& endpoint, FeedHub& hub, HttpRoutes routes);

  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();
  void stop();

  // "/ws?channels=metrics,window" -> channel mask (all channels when absent); exposed for tests.
  static unsigned parse_channels(std::string_view target);

 private:
  void do_accept();

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  FeedHub& hub_;
  std::shared_ptr<const HttpRoutes> routes_;
  bool stopped_ = false;
};

}  // namespace orderpulse
