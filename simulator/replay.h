#pragma once
// `orderpulse-sim replay`: streams an existing NDJSON file to the live server, byte for byte,
// over one or several TCP connections.

#include <string>

#include "orderpulse/common/time.h"
#include "tcp_sender.h"

namespace orderpulse::sim {

struct ReplayOptions {
  std::string in;
  Endpoint to;
  double rate = 0;  // lines per second over all connections; 0: as fast as possible
  unsigned connections = 1;
  DurationMs connect_timeout = 30'000;
};

// Splits the file into `connections` contiguous ranges of whole lines (about equal in bytes),
// one per connection, sent concurrently; each connection keeps its range's order. Throws
// RunFailure (unreadable file, server unreachable).
SendStats run_replay(const ReplayOptions& options);

}  // namespace orderpulse::sim
