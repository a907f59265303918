#pragma once
// `orderpulse-sim generate --to tcp://HOST:PORT`: the generator's stream sent live to the
// server, paced in wall time, with event times taken from the clock as records go out.

#include <cstdint>
#include <optional>
#include <string>

#include "generator.h"
#include "tcp_sender.h"

namespace orderpulse::sim {

struct LiveOptions {
  Endpoint to;
  std::optional<std::uint64_t> count;    // none: until --duration or a stop request
  std::optional<DurationMs> duration;    // none: until --count or a stop request
  DurationMs connect_timeout = 30'000;
};

// `options.rate` is records per second of wall time; start_time is ignored (the clock rules).
// Returns the send summary, with the generator's summary as its "generated" member.
// Throws UsageError / RunFailure.
std::string run_generate_live(GenerateOptions options, const LiveOptions& live);

}  // namespace orderpulse::sim
