#pragma once
// `orderpulse-sim generate --to tcp://HOST:PORT|kafka://BROKERS/TOPIC`: the generator's stream
// sent live to the server or a Kafka topic, paced in wall time, with event times taken from the
// clock as records go out (or, with --start-time, the very records a file would get).

#include <cstdint>
#include <optional>
#include <string>

#include "generator.h"
#include "sender.h"

namespace orderpulse::sim {

struct LiveOptions {
  Target to;
  KafkaProperties kafka;  // --kafka-property, for kafka:// only
  std::optional<std::uint64_t> count;    // none: until --duration or a stop request
  std::optional<DurationMs> duration;    // none: until --count or a stop request
  DurationMs connect_timeout = 30'000;
  // --start-time given: record i's base time is start_time + i * 1000 / rate, exactly as in a
  // file, so the records sent are byte for byte those `generate --out` writes with the same
  // options. Otherwise the wall clock at each burst.
  bool file_times = false;
};

// `options.rate` is records per second of wall time (and of event time with file_times);
// start_time is ignored unless file_times. Returns the send summary, with the generator's
// summary as its "generated" member. Throws UsageError / RunFailure.
SendResult run_generate_live(GenerateOptions options, const LiveOptions& live);

}  // namespace orderpulse::sim
