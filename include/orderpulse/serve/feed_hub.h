#pragma once
// The WebSocket feed: the set of subscribed sessions and the fan-out of messages to them. Lives on
// the network thread; publish() may be called from any thread (the engine's) and only posts.
// A message is serialized once and shared by every session; nothing is locked while sending.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include "orderpulse/serve/asio.h"

namespace orderpulse {

enum class FeedChannel : std::uint8_t { snapshot = 1, metrics = 2, window = 4, alert = 8 };
inline constexpr unsigned kAllChannels = 0xF;

struct FeedMessage {
  FeedChannel channel;
  std::shared_ptr<const std::string> text;
};

// Feed counters, read by /metrics.
struct FeedProbe {
  std::atomic<std::uint64_t> clients{0};
  std::atomic<std::uint64_t> messages_sent{0};
  std::atomic<std::uint64_t> slow_disconnects{0};
};

class WsSession;

class FeedHub {
 public:
  // A client is too far behind, and is disconnected, when the oldest message waiting for it has
  // waited longer than max_wait, or when more than max_queue messages wait (metrics are
  // coalesced, so these are windows and alerts). A burst a reading client drains at once — a
  // backfill finalizing a thousand windows in one batch — is neither.
  FeedHub(asio::io_context& io, FeedProbe& probe, std::size_t max_queue = 20'000,
          std::chrono::milliseconds max_wait = std::chrono::seconds(5))
      : io_(io), probe_(probe), max_queue_(max_queue), max_wait_(max_wait) {}

  void publish(FeedMessage message);

  // Network thread only.
  void join(const std::shared_ptr<WsSession>& session);
  void leave(WsSession* session);
  void close_all();
  FeedProbe& probe() { return probe_; }
  std::size_t max_queue() const { return max_queue_; }
  std::chrono::milliseconds max_wait() const { return max_wait_; }

 private:
  asio::io_context& io_;
  FeedProbe& probe_;
  std::size_t max_queue_;
  std::chrono::milliseconds max_wait_;
  std::unordered_map<WsSession*, std::weak_ptr<WsSession>> sessions_;
  bool closed_ = false;
};

// One WebSocket client: a bounded outgoing queue with one write in flight. Network thread only.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, FeedHub& hub, unsigned channels, std::shared_ptr<const std::string> snapshot);
  ~WsSession();

  template <typename Request>
  void accept(const Request& request) {
    ws_.async_accept(request, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }
  void send(const FeedMessage& message);
  void close();

 private:
  void on_accept(beast::error_code ec);
  void do_read();
  void do_write();

  beast::websocket::stream<beast::tcp_stream> ws_;
  FeedHub& hub_;
  unsigned channels_;
  std::shared_ptr<const std::string> first_;  // the snapshot, sent right after the handshake
  beast::flat_buffer read_buf_;
  struct Queued {
    FeedMessage message;
    std::chrono::steady_clock::time_point since;
  };
  std::deque<Queued> queue_;
  bool writing_ = false;
  bool joined_ = false;
  bool closed_ = false;
};

}  // namespace orderpulse
