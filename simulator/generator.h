#pragma once
// `orderpulse-sim generate`: a deterministic synthetic order-line stream with optional injected
// faults (late, duplicate, malformed records) for exercising the engine.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "faults.h"
#include "orderpulse/common/time.h"
#include "output.h"
#include "record.h"
#include "rng.h"
#include "scenarios.h"
#include "world.h"

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
  std::vector<Scenario> scenarios;  // --burst, --drop, --whale, --sold-out, --restock
  // Live stream (generate --to): start_time is "now" and late records may start as soon as one
  // on-time line is out, instead of waiting until they would fall after start_time.
  bool live = false;
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
  std::uint64_t scenario_records = 0;  // written by scenarios, on top of `records`
  std::vector<std::string> scenarios;  // one JSON object per scenario: what it did, and when

  std::string to_json() const;  // one line, no trailing newline
};

// The record stream: owns the event Rng, the order currently being emitted, the ring of recent
// valid lines that duplicates are copied from, and the running summary. Appends whole records to
// the string it is given; the caller decides where they go (file, socket) and their base times.
class StreamGenerator {
 public:
  StreamGenerator(const GenerateOptions& o, const World& world, std::string& out);

  // One record (on time, or a fault as the dice say); `base` is its base event time, from which
  // a new order moves back by up to --disorder. `last`: the final record of a CSV stream.
  void next(TimestampMs base, bool last = false);
  // Call once after the last record.
  void finish();
  const GenerateSummary& summary() const { return summary_; }

 private:
  void fill_line(OrderLine& l);
  OrderLine single_line(TimestampMs t);
  void emit_on_time(TimestampMs base);
  bool try_emit_late();
  bool try_emit_duplicate();
  void emit_malformed(Fault kind);
  // Scenario records due at or before `base`, in time order.
  void emit_scenarios(TimestampMs base);
  void emit_scenario(const Scenario& s, TimestampMs t, std::int32_t step);
  void write_line(const OrderLine& l);

  // One record (or step of one) a scenario adds to the stream.
  struct Injection {
    TimestampMs time = 0;
    std::size_t scenario = 0;  // index into o_.scenarios
    std::int32_t step = 0;     // the whale's n-th order
  };

  struct Recent {
    std::string text;  // the whole record including '\n'
    TimestampMs time = 0;
  };

  const GenerateOptions& o_;
  const World& world_;
  std::string& out_;
  Rng rng_;
  bool csv_tail_fault_;
  std::size_t fault_kinds_;
  std::string scratch_;  // field texts of the record being written
  std::string record_;   // working space of append_malformed
  std::uint64_t next_order_no_ = 1;
  OrderLine order_;  // the on-time order being emitted; order_.line = lines emitted so far
  std::int32_t order_lines_ = 0;
  TimestampMs last_time_;  // event time of the latest on-time order
  TimestampMs max_time_;   // over on-time lines; kMinTime before the first
  std::vector<Recent> recent_;
  std::size_t recent_next_ = 0;
  std::size_t recent_count_ = 0;
  GenerateSummary summary_;
  Rng scenario_rng_;  // its own stream: the regular records stay those of a run without scenarios
  std::vector<Injection> injections_;
  std::size_t next_injection_ = 0;
  // Units of each scenario product sold by on-time lines and scenarios, restocks subtracted.
  std::vector<std::pair<std::uint64_t, std::int64_t>> sold_;
};

// Checks the options that do not depend on the destination (fault fractions, disorder,
// scenarios) and builds the world, writing the catalog when asked. Throws UsageError / RunFailure.
World prepare_world(const GenerateOptions& options);

// Throws UsageError / RunFailure.
GenerateSummary run_generate(const GenerateOptions& options);

}  // namespace orderpulse::sim
