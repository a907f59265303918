#pragma once
// The live server's TCP ingest: NDJSON over any number of connections, all forming one watermark
// source. Owns the acceptor and the connections; runs entirely on the network (Asio) thread.
// Complete lines go into the BatchBuilder once per read; when it is full, connections stop
// reading until the engine takes the batch (resume()).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "orderpulse/engine/batch_builder.h"
#include "orderpulse/serve/asio.h"

namespace orderpulse {

// Counters of the ingest side, read by /metrics from another thread.
struct IngestProbe {
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> blank_lines{0};
};

class SocketSource {
 public:
  static constexpr std::uint32_t kSourceId = 0;

  // Binds and listens; throws boost::system::system_error (e.g. address in use).
  SocketSource(asio::io_context& io, const tcp::endpoint& endpoint, BatchBuilder& builder, std::size_t max_line_bytes,
               IngestProbe& probe);
  ~SocketSource();

  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();
  // Closes the acceptor and every connection (network thread).
  void stop();
  // Restarts connections paused by a full batch (network thread).
  void resume();

 private:
  class Connection;
  void do_accept();

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  BatchBuilder& builder_;
  std::size_t max_line_;
  IngestProbe& probe_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> live_;
  std::vector<std::shared_ptr<Connection>> paused_;
  bool stopped_ = false;
};

}  // namespace orderpulse
