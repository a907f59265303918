#pragma once
// `orderpulse-sim generate`: a deterministic synthetic order-line stream with optional injected
// faults (late, duplicate, malformed records) for exercising the engine.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "faults.h"
#include "orderpulse/common/time.h"
#include "output.h"

namespace orderpulse::sim {

struct GenerateOptions {
  std::uint64_t count = 0;
  std::string out;
  std::uint64_t seed = 1;
  std::uint64_t customers = 10'000;
  std::uint64_t products = 1'000;
  TimestampMs start_time = 0;
  double rate = 1000.0;  // records per second of event time
  DurationMs disorder = 5'000;
  double late = 0.0;
  double duplicates = 0.0;
  double malformed = 0.0;
  DurationMs watermark_delay = 30'000;
  OutputFormat format = OutputFormat::ndjson;
  std::string catalog_out;  // empty: no catalog
};

struct GenerateSummary {
  std::uint64_t records = 0;
  std::uint64_t orders = 0;  // on-time orders (late records are single-line orders of their own)
  std::uint64_t lines = 0;   // on-time valid lines
  std::uint64_t late = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t malformed = 0;
  std::array<std::uint64_t, kFaultKinds> malformed_by_kind{};
  std::optional<TimestampMs> max_event_time;  // of on-time lines; none when there were none

  std::string to_json() const;  // one line, no trailing newline
};

// Throws UsageError / RunFailure.
GenerateSummary run_generate(const GenerateOptions& options);

}  // namespace orderpulse::sim
