#pragma once
// Sending NDJSON lines to the live server over TCP (`generate --to`, `replay --to`): the
// tcp://HOST:PORT address, connecting with retries and backoff, sending whole lines and
// reconnecting when the connection drops, and the one-line send summary.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "orderpulse/common/time.h"
#include "pacer.h"
#include "sender.h"

namespace orderpulse::sim {

struct SendStats {
  std::uint64_t sent = 0;   // complete lines, each counted once however often it was resent
  std::uint64_t bytes = 0;  // bytes of those lines
  std::uint64_t reconnects = 0;
  std::optional<Clock::time_point> start;  // first connection
  Clock::time_point end{};                 // close

  void merge(const SendStats& other);  // another connection of the same run
  // {"sent":N,"bytes":B,"seconds":S,"rate":R,"reconnects":K}, `extra` (",\"key\":value...")
  // inserted before the closing brace. rate = sent / seconds.
  std::string to_json(std::string_view extra = {}) const;
};

// "tcp://HOST:PORT"; HOST is a name, an IPv4 address or a bracketed IPv6 address ([::1]).
// Throws UsageError.
Endpoint parse_endpoint(std::string_view text);

// One TCP connection to the server, re-established when it drops. Owns the socket; used by one
// thread (replay runs one sender per connection thread).
class TcpSender final : public LineSender {
 public:
  // `label` names the connection in log lines when there are several ("connection 2/4").
  TcpSender(Endpoint to, DurationMs connect_timeout, std::string label = {});
  ~TcpSender() override;
  TcpSender(const TcpSender&) = delete;
  TcpSender& operator=(const TcpSender&) = delete;

  // Connects, retrying with backoff (100ms doubling to 2s) for up to the connect timeout.
  // False when a stop was requested first; throws RunFailure naming the address when the
  // time is up.
  bool connect() override;

  // Sends `lines`: whole lines, each ending in '\n' (only a file's very last line may lack
  // it). When the connection drops it reconnects like connect() and resends from the start of
  // the first line not completely written, so the new connection never starts mid-line. On a
  // stop request it finishes the line under way (finish_line) or all of `lines` (finish_all).
  // Returns how many bytes of `lines` went out, always ending at a line boundary.
  std::size_t send(std::string_view lines, OnStop on_stop = OnStop::finish_line) override;

  // Half-closes, waits briefly for the server to read everything and close its side, closes.
  void close() override;
  std::string summary(std::string_view extra = {}) const override { return stats_.to_json(extra); }
  const SendStats& stats() const { return stats_; }

 private:
  bool reconnect(const std::string& why, std::uint64_t lines_done);
  bool peer_gone(std::string& why);
  void log(const std::string& message) const;

  Endpoint to_;
  DurationMs connect_timeout_;
  std::string label_;
  int fd_ = -1;
  SendStats stats_;
};

}  // namespace orderpulse::sim
