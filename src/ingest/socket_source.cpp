#include "orderpulse/ingest/socket_source.h"

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "orderpulse/ingest/record_reader.h"

namespace orderpulse {

// One client connection: frames its byte stream into lines (the same limits as batch mode) and
// hands complete lines to the builder. Network thread only.
class SocketSource::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(SocketSource& server, tcp::socket socket)
      : server_(server), socket_(std::move(socket)), buf_(kChunk) {
    boost::system::error_code ec;
    const auto peer = socket_.remote_endpoint(ec);
    origin_ = std::make_shared<RecordOrigin>(
        RecordOrigin{kSourceId, "socket", "peer", ec ? std::string("unknown") : to_string(peer)});
  }
  // The server drains its io_context before it is destroyed, so it outlives every connection.
  ~Connection() {
    server_.live_.erase(this);
    --server_.probe_.connections_open;
  }

  void start() { do_read(); }
  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  void do_read() {
    if (buf_.size() - used_ < kChunk / 2) buf_.resize(std::min(buf_.size() * 2, server_.max_line_ + 2 * kChunk));
    socket_.async_read_some(asio::buffer(buf_.data() + used_, buf_.size() - used_),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

 private:
  static constexpr std::size_t kChunk = 64 * 1024;

  struct Line {
    std::size_t offset;  // in buf_, or in prefixes_ for an over-long line (flag too_long)
    std::size_t length;
    std::uint64_t number;
    RecordFlag flag;
  };

  // Keeps the first bytes of an over-long line for the ledger; the line itself is not buffered.
  void add_too_long(std::string_view head, std::uint64_t number) {
    head = head.substr(0, RecordReader::kLedgerPrefix);
    lines_.push_back({prefixes_.size(), head.size(), number, RecordFlag::too_long});
    prefixes_.append(head);
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    if (ec) {
      finish();
      return;
    }
    server_.probe_.bytes += n;
    std::size_t end = used_ + n;
    // A UTF-8 BOM may open a connection's stream as it may open a file: it is not part of the
    // first line (RecordReader drops it the same way).
    if (at_stream_start_) {
      if (end < 3 && starts_like_bom(end)) {
        used_ = end;  // too few bytes to tell yet
        do_read();
        return;
      }
      if (starts_like_bom(3)) {
        std::memmove(buf_.data(), buf_.data() + 3, end - 3);
        end -= 3;
        used_ = 0;  // the bytes held back were the BOM's: the scan starts afresh
      }
      at_stream_start_ = false;
    }
    lines_.clear();
    prefixes_.clear();
    std::size_t start = 0;
    std::size_t scan = used_;
    while (true) {
      const void* hit = std::memchr(buf_.data() + scan, '\n', end - scan);
      if (!hit) break;
      const std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(hit) - buf_.data());
      if (skipping_) {
        add_too_long(skip_prefix_, skip_line_);
        skipping_ = false;
      } else {
        std::size_t len = nl - start;
        if (len > 0 && buf_[start + len - 1] == '\r') --len;
        if (len > server_.max_line_) {
          add_too_long(std::string_view(buf_.data() + start, len), line_);
        } else if (is_blank(start, len)) {
          ++server_.probe_.blank_lines;
        } else {
          lines_.push_back({start, len, line_, RecordFlag::none});
        }
      }
      ++line_;
      start = scan = nl + 1;
    }
    // The unfinished tail: keep it, or start skipping when it is already too long.
    const std::size_t tail = end - start;
    // Over the limit by more than a CR that may end it: too long whatever follows.
    if (!skipping_ && tail > server_.max_line_ + 1) {
      skip_prefix_.assign(buf_.data() + start, std::min(tail, RecordReader::kLedgerPrefix));
      skipping_ = true;
      skip_line_ = line_;
      start = end;
    } else if (skipping_) {
      start = end;
    }
    const bool space = deliver();
    std::memmove(buf_.data(), buf_.data() + start, end - start);
    used_ = end - start;
    if (space) {
      do_read();
    } else {
      server_.paused_.push_back(shared_from_this());
    }
  }

  // The first k (1..3) bytes of the buffer are those of a UTF-8 BOM.
  bool starts_like_bom(std::size_t k) const { return std::memcmp(buf_.data(), "\xEF\xBB\xBF", k) == 0; }

  bool is_blank(std::size_t start, std::size_t len) const {
    return is_blank_record(std::string_view(buf_.data() + start, len), Framing::lines);
  }

  // Adds the framed lines to the builder; false when the batch is full.
  bool deliver() {
    if (lines_.empty()) return !server_.builder_.full();
    return server_.builder_.append([this](EventBatch& batch) {
      batch.pin(origin_);
      for (const Line& l : lines_) {
        const std::string_view text = l.flag == RecordFlag::too_long ? std::string_view(prefixes_).substr(l.offset, l.length)
                                                                     : std::string_view(buf_.data() + l.offset, l.length);
        batch.add(text, l.number, origin_.get(), RecordFormat{}, l.flag);
      }
    });
  }

  // The client went away: a partial last line is `truncated` (or `line_too_long`).
  void finish() {
    lines_.clear();
    prefixes_.clear();
    if (skipping_) {
      add_too_long(skip_prefix_, skip_line_);
    } else if (at_stream_start_ && used_ > 0 && used_ < 3 && starts_like_bom(used_)) {
      // nothing but (part of) a BOM: no record, as in batch mode
    } else if (used_ > 0) {
      std::size_t len = used_;
      if (buf_[len - 1] == '\r') --len;
      if (len > server_.max_line_) {
        add_too_long(std::string_view(buf_.data(), len), line_);  // one byte over: no CR ended it
      } else if (is_blank(0, len)) {
        ++server_.probe_.blank_lines;  // counted as any blank line is
      } else {
        lines_.push_back({0, len, line_, RecordFlag::truncated});
      }
    }
    used_ = 0;
    if (!lines_.empty()) deliver();  // accepted even over the limit: a batch may exceed it slightly
    close();
  }

  SocketSource& server_;
  tcp::socket socket_;
  std::shared_ptr<RecordOrigin> origin_;
  std::vector<char> buf_;
  std::size_t used_ = 0;  // bytes of an unfinished line at the start of buf_
  std::uint64_t line_ = 1;
  bool at_stream_start_ = true;  // no byte of the stream framed yet: a BOM may come
  bool skipping_ = false;
  std::uint64_t skip_line_ = 0;
  std::string skip_prefix_;  // head of the over-long line being skipped across reads
  std::string prefixes_;     // heads of the over-long lines of the current read
  std::vector<Line> lines_;
};

SocketSource::SocketSource(asio::io_context& io, const tcp::endpoint& endpoint, BatchBuilder& builder,
                           std::size_t max_line_bytes, IngestProbe& probe)
    : io_(io), acceptor_(io), builder_(builder), max_line_(max_line_bytes), probe_(probe) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

SocketSource::~SocketSource() = default;

void SocketSource::start() { do_accept(); }

void SocketSource::do_accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (stopped_) return;
    if (ec) {
      // Out of descriptors and the like: log, back off briefly, keep accepting.
      spdlog::warn("ingest accept failed: {}", ec.message());
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
      timer->async_wait([this, timer](boost::system::error_code) { if (!stopped_) do_accept(); });
      return;
    }
    socket.set_option(tcp::no_delay(true));
    auto conn = std::make_shared<Connection>(*this, std::move(socket));
    live_.emplace(conn.get(), conn);
    ++probe_.connections_accepted;
    ++probe_.connections_open;
    conn->start();
    do_accept();
  });
}

void SocketSource::resume() {
  if (stopped_) return;
  auto paused = std::move(paused_);
  paused_.clear();
  for (auto& c : paused) c->do_read();
}

void SocketSource::stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  paused_.clear();
  for (auto& [ptr, weak] : live_)
    if (auto c = weak.lock()) c->close();
}

}  // namespace orderpulse
