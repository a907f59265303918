#include "orderpulse/serve/feed_hub.h"

#include <spdlog/spdlog.h>

namespace orderpulse {

void FeedHub::publish(FeedMessage message) {
  asio::post(io_, [this, m = std::move(message)] {
    if (closed_) return;
    // Copy first: a session may leave (and erase itself) while we send.
    std::vector<std::shared_ptr<WsSession>> targets;
    targets.reserve(sessions_.size());
    for (auto& [ptr, weak] : sessions_)
      if (auto s = weak.lock()) targets.push_back(std::move(s));
    for (auto& s : targets) s->send(m);
  });
}

void FeedHub::join(const std::shared_ptr<WsSession>& session) {
  sessions_.emplace(session.get(), session);
  probe_.clients = sessions_.size();
}

void FeedHub::leave(WsSession* session) {
  sessions_.erase(session);
  probe_.clients = sessions_.size();
}

void FeedHub::close_all() {
  closed_ = true;
  std::vector<std::shared_ptr<WsSession>> targets;
  for (auto& [ptr, weak] : sessions_)
    if (auto s = weak.lock()) targets.push_back(std::move(s));
  for (auto& s : targets) s->close();
}

WsSession::WsSession(tcp::socket socket, FeedHub& hub, unsigned channels, std::shared_ptr<const std::string> snapshot)
    : ws_(std::move(socket)), hub_(hub), channels_(channels), first_(std::move(snapshot)) {
  ws_.set_option(beast::websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.set_option(beast::websocket::stream_base::decorator(
      [](beast::websocket::response_type& res) { res.set(beast::http::field::server, "orderpulse"); }));
  ws_.text(true);
}

WsSession::~WsSession() {
  if (joined_) hub_.leave(this);
}

void WsSession::on_accept(beast::error_code ec) {
  if (ec) return;
  hub_.join(shared_from_this());
  joined_ = true;
  if (first_) send(FeedMessage{FeedChannel::snapshot, std::move(first_)});
  do_read();
}

void WsSession::do_read() {
  // Clients do not send us anything we use; reading notices their close and keeps pings flowing.
  ws_.async_read(read_buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) {
      self->close();
      return;
    }
    self->read_buf_.consume(self->read_buf_.size());
    self->do_read();
  });
}

void WsSession::send(const FeedMessage& m) {
  if (closed_) return;
  if (m.channel != FeedChannel::snapshot && !(channels_ & static_cast<unsigned>(m.channel))) return;
  if (m.channel == FeedChannel::metrics) {
    // Coalesce: a metrics update still waiting (not the one being written) is replaced.
    for (std::size_t i = writing_ ? 1 : 0; i < queue_.size(); ++i) {
      if (queue_[i].message.channel == FeedChannel::metrics) {
        queue_[i].message = m;
        return;
      }
    }
  }
  const auto now = std::chrono::steady_clock::now();
  queue_.push_back({m, now});
  if (queue_.size() > hub_.max_queue() || now - queue_.front().since > hub_.max_wait()) {
    ++hub_.probe().slow_disconnects;
    spdlog::warn("feed: disconnecting a client {} messages behind", queue_.size());
    close();
    return;
  }
  if (!writing_) do_write();
}

void WsSession::do_write() {
  writing_ = true;
  ws_.async_write(asio::buffer(*queue_.front().message.text), [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec || self->closed_) {
      self->writing_ = false;
      self->close();
      return;
    }
    ++self->hub_.probe().messages_sent;
    self->queue_.pop_front();
    if (self->queue_.empty()) {
      self->writing_ = false;
    } else {
      self->do_write();
    }
  });
}

void WsSession::close() {
  if (closed_) return;
  closed_ = true;
  queue_.clear();
  if (joined_) {
    hub_.leave(this);
    joined_ = false;
  }
  // No closing handshake: a client that does not read would never complete it.
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(ws_).close();
}

}  // namespace orderpulse
