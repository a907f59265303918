#pragma once
// Scripted incidents for `orderpulse-sim generate` (docs/alerts.md, "Simulator scenarios"): a
// sales burst or drop (the record rate of event time multiplied for a while), a whale customer
// (one customer placing many orders, the first of them large) and a product sold out (and later
// restocked). Each is placed at an offset of event time from --start-time, so a test or a demo
// knows the minute an alert must fire. Plain data plus the record timeline; no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "orderpulse/common/time.h"

namespace orderpulse::sim {

enum class ScenarioKind : std::uint8_t { burst, drop, whale, sold_out, restock };

std::string_view to_string(ScenarioKind k);

struct Scenario {
  ScenarioKind kind = ScenarioKind::burst;
  DurationMs at = 0;       // offset of event time from --start-time
  DurationMs length = 0;   // burst, drop: how long the rate is changed
  double factor = 1.0;     // burst, drop: the rate multiplier
  std::string product;     // sold_out, restock: the product id; empty: the least popular one
};

// The whale: kWhaleOrders one-line orders over kWhaleSpan from its time, the first worth
// kWhaleFirstOrder, the others kWhaleOrder each. With the default alert thresholds that is a
// high-value order at once, a high-value customer at the 8th order and a burst at the 51st.
inline constexpr std::int32_t kWhaleOrders = 60;
inline constexpr DurationMs kWhaleSpan = 10'000;
inline constexpr std::int64_t kWhaleFirstOrder = 600'000;  // cents
inline constexpr std::int64_t kWhaleOrder = 60'000;        // cents

// Parses one flag's value: burst and drop take AT[:LENGTH[:FACTOR]] (defaults 1m, and 5 for a
// burst, 0.1 for a drop); whale takes AT; sold_out and restock take AT[:PRODUCT_ID]. Throws
// UsageError naming `option`.
Scenario parse_scenario(ScenarioKind kind, const std::string& option, const std::string& text);

// Where each record falls in event time: records are spread evenly at `rate` per second, the rate
// multiplied by the factors of the bursts and drops covering that moment. Without any, record i
// is at i * 1000 / rate, as it always was.
class Timeline {
 public:
  Timeline(double rate, const std::vector<Scenario>& scenarios);

  // Milliseconds from the start to record i (fractional).
  double offset(std::uint64_t i) const;
  // How many records fall before `offset_ms` (fractional): the inverse of offset().
  double index_at(double offset_ms) const;

 private:
  struct Segment {
    double from_ms = 0;     // where the segment starts
    double from_index = 0;  // records before it
    double per_second = 0;  // the rate within it
  };
  const Segment& segment_for_index(double i) const;
  const Segment& segment_for_offset(double ms) const;

  std::vector<Segment> segments_;  // by from_ms; the first starts at 0
};

}  // namespace orderpulse::sim
