#include "tcp_sender.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "errors.h"

namespace orderpulse::sim {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kMaxWrite = 4 << 20;     // bytes per send(2)
constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{2000};
constexpr milliseconds kMinAttempt{1000};      // one connect attempt may take this long
constexpr milliseconds kCloseWait{2000};       // for the server to read all and close
constexpr int kPollMs = 100;                   // poll slice, so stop requests are noticed

int ms_until(Clock::time_point t) {
  const auto left = std::chrono::duration_cast<milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, kPollMs));
}

// Waits for a non-blocking connect to finish; false with `error` set when it fails.
bool wait_connected(int fd, Clock::time_point deadline, std::string& error) {
  for (;;) {
    pollfd p{fd, POLLOUT, 0};
    const int r = ::poll(&p, 1, ms_until(deadline));
    if (r > 0) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) return true;
      error = std::strerror(err);
      return false;
    }
    if (r < 0 && errno != EINTR) {
      error = std::strerror(errno);
      return false;
    }
    if (stop_requested() || Clock::now() >= deadline) {
      error = "connection timed out";
      return false;
    }
  }
}

// One attempt on each address HOST resolves to; the connected socket, or -1 and `error`.
int try_connect(const Endpoint& to, Clock::time_point deadline, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(to.host.c_str(), to.port.c_str(), &hints, &found); rc != 0) {
    error = ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (const addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    if (errno == EINPROGRESS && wait_connected(fd, deadline, error)) break;
    if (errno != EINPROGRESS) error = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd >= 0) {
    const int one = 1;  // small bursts of a slow live stream go out at once
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

// Start of the line that contains byte `pos` (pos itself when a line starts there).
std::size_t line_start(std::string_view s, std::size_t pos) {
  const std::size_t nl = s.rfind('\n', pos == 0 ? 0 : pos - 1);
  return pos == 0 || nl == std::string_view::npos ? 0 : nl + 1;
}

// End of the line under way at `pos`, just past its '\n' (pos itself at a line start).
std::size_t line_end(std::string_view s, std::size_t pos) {
  if (pos == 0 || s[pos - 1] == '\n') return pos;
  const std::size_t nl = s.find('\n', pos);
  return nl == std::string_view::npos ? s.size() : nl + 1;
}

std::uint64_t count_lines(std::string_view s) {
  const auto n = static_cast<std::uint64_t>(std::count(s.begin(), s.end(), '\n'));
  return n + (!s.empty() && s.back() != '\n' ? 1 : 0);
}

}  // namespace

Endpoint parse_endpoint(std::string_view text) {
  const auto fail = [&]() -> Endpoint {
    throw UsageError("--to must be tcp://HOST:PORT, got '" + std::string(text) + "'");
  };
  constexpr std::string_view kScheme = "tcp://";
  if (text.substr(0, kScheme.size()) != kScheme) return fail();
  const std::string_view rest = text.substr(kScheme.size());
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return fail();
  std::string_view host = rest.substr(0, colon);
  const std::string_view port = rest.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return fail();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return fail();  // an IPv6 address needs its brackets
  }
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
    return fail();
  }
  return Endpoint{std::string(host), std::string(port), std::string(text)};
}

void SendStats::merge(const SendStats& other) {
  sent += other.sent;
  bytes += other.bytes;
  reconnects += other.reconnects;
  if (other.start && (!start || *other.start < *start)) start = other.start;
  end = std::max(end, other.end);
}

std::string SendStats::to_json(std::string_view extra) const {
  const double secs = start ? std::chrono::duration<double>(end - *start).count() : 0.0;
  const double rate = secs > 0 ? static_cast<double>(sent) / secs : 0.0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "{\"sent\":%llu,\"bytes\":%llu,\"seconds\":%.3f,\"rate\":%.1f,\"reconnects\":%llu",
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(bytes), secs, rate,
                static_cast<unsigned long long>(reconnects));
  return std::string(buf).append(extra).append("}");
}

TcpSender::TcpSender(Endpoint to, DurationMs connect_timeout, std::string label)
    : to_(std::move(to)), connect_timeout_(connect_timeout), label_(std::move(label)) {}

TcpSender::~TcpSender() {
  if (fd_ >= 0) ::close(fd_);
}

void TcpSender::log(const std::string& message) const {
  std::fprintf(stderr, "orderpulse-sim: %s%s%s: %s\n", to_.text.c_str(), label_.empty() ? "" : " ",
               label_.c_str(), message.c_str());
}

bool TcpSender::connect() {
  const auto deadline = Clock::now() + milliseconds(connect_timeout_);
  auto backoff = kFirstBackoff;
  for (;;) {
    std::string error;
    fd_ = try_connect(to_, std::max(deadline, Clock::now() + kMinAttempt), error);
    if (fd_ >= 0) {
      if (!stats_.start) stats_.start = Clock::now();
      return true;
    }
    if (stop_requested()) return false;
    const auto now = Clock::now();
    if (now >= deadline) {
      char within[32];
      std::snprintf(within, sizeof within, "%gs", static_cast<double>(connect_timeout_) / 1000.0);
      throw RunFailure("cannot connect to " + to_.text + " within " + within + ": " + error);
    }
    sleep_until_or_stop(std::min(now + backoff, deadline));
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

bool TcpSender::reconnect(const std::string& why, std::uint64_t lines_done) {
  ::close(fd_);
  fd_ = -1;
  log("connection lost (" + why + ") after " + std::to_string(lines_done) + " complete lines, reconnecting");
  const auto t0 = Clock::now();
  if (!connect()) return false;
  ++stats_.reconnects;
  char buf[64];
  std::snprintf(buf, sizeof buf, "reconnected after %.1fs",
                std::chrono::duration<double>(Clock::now() - t0).count());
  log(buf);
  return true;
}

// The server never writes on the ingest port: readable means it closed (or reset) the socket.
bool TcpSender::peer_gone(std::string& why) {
  char buf[4096];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
  if (n == 0) why = "closed by the server";
  else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) why = std::strerror(errno);
  else return false;
  return true;
}

std::size_t TcpSender::send(std::string_view lines, OnStop on_stop) {
  std::size_t pos = 0;
  std::size_t end = lines.size();
  bool stopping = false;
  std::string why;
  if (peer_gone(why) && !reconnect(why, stats_.sent)) return 0;
  while (pos < end) {
    if (!stopping && on_stop == OnStop::finish_line && stop_requested()) {
      stopping = true;
      end = line_end(lines, pos);
      if (pos >= end) break;
    }
    const ssize_t n = ::send(fd_, lines.data() + pos, std::min(end - pos, kMaxWrite), MSG_NOSIGNAL);
    if (n > 0) {
      pos += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, kPollMs);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      const std::string error = std::strerror(errno);
      pos = line_start(lines, pos);  // a cut line goes again, whole
      if (!reconnect(error, stats_.sent + count_lines(lines.substr(0, pos)))) break;  // stopped meanwhile
    }
  }
  stats_.sent += count_lines(lines.substr(0, pos));
  stats_.bytes += pos;
  return pos;
}

void TcpSender::close() {
  if (fd_ >= 0) {
    ::shutdown(fd_, SHUT_WR);
    // Read (and discard) until the server closes its side: unread input would make close()
    // reset the connection, and it tells us the server has taken everything we sent.
    const auto deadline = Clock::now() + kCloseWait;
    char buf[4096];
    while (!stop_requested() && Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, ms_until(deadline)) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
    }
    ::close(fd_);
    fd_ = -1;
  }
  stats_.end = Clock::now();
}

}  // namespace orderpulse::sim
