#include "orderpulse/serve/http_server.h"

#include <optional>

#include <spdlog/spdlog.h>

namespace orderpulse {
namespace http = beast::http;

namespace {

// One HTTP connection: keep-alive request loop; hands the socket to a WsSession on /ws upgrade.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, FeedHub& hub, std::shared_ptr<const HttpRoutes> routes)
      : stream_(std::move(socket)), hub_(hub), routes_(std::move(routes)) {}

  void start() { do_read(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    auto& req = parser_->get();
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/ws" && beast::websocket::is_upgrade(req)) {
      stream_.expires_never();
      auto ws = std::make_shared<WsSession>(stream_.release_socket(), hub_, HttpServer::parse_channels(target),
                                            routes_->snapshot());
      ws->accept(req);
      return;
    }
    respond(req, path);
  }

  void respond(const http::request<http::string_body>& req, std::string_view path) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req.version());
    res->keep_alive(req.keep_alive());
    res->set(http::field::server, "orderpulse");
    res->set(http::field::cache_control, "no-store");
    auto reply = [&](http::status status, std::string_view type, std::string body) {
      res->result(status);
      res->set(http::field::content_type, beast::string_view(type.data(), type.size()));
      res->body() = std::move(body);
    };
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      reply(http::status::method_not_allowed, "text/plain", "method not allowed\n");
    } else if (path == "/" || path == "/index.html") {
      reply(http::status::ok, "text/html; charset=utf-8", std::string(routes_->dashboard_html));
    } else if (path == "/metrics") {
      reply(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", routes_->metrics());
    } else if (path == "/healthz") {
      reply(http::status::ok, "text/plain", "ok\n");
    } else if (path == "/readyz") {
      const bool ready = routes_->ready();
      reply(ready ? http::status::ok : http::status::service_unavailable, "text/plain", ready ? "ready\n" : "not ready\n");
    } else if (path == "/api/snapshot") {
      auto snap = routes_->snapshot();
      reply(http::status::ok, "application/json", snap ? *snap : std::string("{}"));
    } else if (path == "/ws") {
      reply(http::status::upgrade_required, "text/plain", "use a WebSocket client\n");
    } else {
      reply(http::status::not_found, "text/plain", "not found\n");
    }
    res->prepare_payload();
    if (req.method() == http::verb::head) res->body().clear();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->do_read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  FeedHub& hub_;
  std::shared_ptr<const HttpRoutes> routes_;
};

}  // namespace

HttpServer::HttpServer(asio::io_context& io, const tcp::endpoint& endpoint, FeedHub& hub, HttpRoutes routes)
    : io_(io), acceptor_(io), hub_(hub), routes_(std::make_shared<const HttpRoutes>(std::move(routes))) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void HttpServer::start() { do_accept(); }

void HttpServer::do_accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (stopped_) return;
    if (ec) {
      spdlog::warn("http accept failed: {}", ec.message());
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
      timer->async_wait([this, timer](beast::error_code) { if (!stopped_) do_accept(); });
      return;
    }
    // Feed messages are small writes: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms.
    socket.set_option(tcp::no_delay(true));
    std::make_shared<HttpSession>(std::move(socket), hub_, routes_)->start();
    do_accept();
  });
}

void HttpServer::stop() {
  stopped_ = true;
  beast::error_code ignored;
  acceptor_.close(ignored);
}

unsigned HttpServer::parse_channels(std::string_view target) {
  const auto q = target.find("channels=");
  if (q == std::string_view::npos) return kAllChannels;
  std::string_view list = target.substr(q + 9);
  list = list.substr(0, list.find('&'));
  unsigned mask = 0;
  while (!list.empty()) {
    const auto comma = list.find_first_of(",%");  // "%2C" is an escaped comma
    const std::string_view name = list.substr(0, comma);
    if (name == "metrics") mask |= static_cast<unsigned>(FeedChannel::metrics);
    else if (name == "window" || name == "windows") mask |= static_cast<unsigned>(FeedChannel::window);
    else if (name == "alert" || name == "alerts") mask |= static_cast<unsigned>(FeedChannel::alert);
    else if (name == "snapshot") mask |= static_cast<unsigned>(FeedChannel::snapshot);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + (list[comma] == '%' ? 3 : 1));
  }
  return mask == 0 ? kAllChannels : mask;
}

}  // namespace orderpulse
