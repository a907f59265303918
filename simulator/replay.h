#pragma once
// `orderpulse-sim replay`: streams an existing NDJSON file to the live server, byte for byte,
// over one or several TCP connections, or to a Kafka topic, one message per line.

#include <string>

#include "orderpulse/common/time.h"
#include "sender.h"

namespace orderpulse::sim {

struct ReplayOptions {
  std::string in;
  Target to;
  KafkaProperties kafka;  // --kafka-property, for kafka:// only
  double rate = 0;  // lines per second over all connections; 0: as fast as possible
  unsigned connections = 1;  // tcp:// only
  DurationMs connect_timeout = 30'000;
};

// tcp://: splits the file into `connections` contiguous ranges of whole lines (about equal in
// bytes), one per connection, sent concurrently; each connection keeps its range's order.
// kafka://: one producer, lines in file order. Throws RunFailure (unreadable file, destination
// unreachable).
SendResult run_replay(const ReplayOptions& options);

}  // namespace orderpulse::sim
