#pragma once
// The alert model shared by every rule (docs/alerts.md): one record per state change of an
// episode, `firing` then `resolved`, with a stable id, the rule, a severity, a subject and the
// numbers that fired it. Data rules carry the event time that decided them; system-health rules
// the wall time. Plain values; built on the engine thread, copied to sinks.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "orderpulse/common/time.h"
#include "orderpulse/state/codec.h"

namespace orderpulse {

enum class AlertSeverity : std::uint8_t { info, warning, critical };

// Data rules first, then system health; the string forms are the public vocabulary (alerts.jsonl,
// the feed, the `rule` label in /metrics). Append only: checkpoints store the numbers.
enum class AlertRule : std::uint8_t {
  low_inventory,
  order_spike,
  order_drop,
  revenue_spike,
  revenue_drop,
  customer_burst,
  high_value_customer,
  high_value_order,
  batch_slow,
  watermark_lag,
  late_share,
  rejected_share,
  kafka_lag,
  checkpoint_age,
  kafka_broker_down,
  count_
};
inline constexpr std::size_t kAlertRuleCount = static_cast<std::size_t>(AlertRule::count_);
inline constexpr std::size_t kAlertSeverityCount = 3;

std::string_view to_string(AlertRule rule);
std::string_view to_string(AlertSeverity severity);
// System-health rules watch the server, by the wall clock; they exist only in serve mode.
inline bool is_health_rule(AlertRule rule) { return rule >= AlertRule::batch_slow; }

struct Alert {
  std::string id;  // the same for an episode's firing and resolved records
  AlertRule rule = AlertRule::low_inventory;
  AlertSeverity severity = AlertSeverity::warning;
  bool firing = true;  // else resolved
  std::string subject;  // "product:P", "customer:C", "metric:NAME"
  TimestampMs event_time = kMinTime;  // data rules: the event time that decided the change
  TimestampMs wall_time = kMinTime;   // health rules: when it was observed
  std::vector<std::pair<std::string, std::string>> values;  // name -> JSON number text
  std::string message;  // one human-readable line, deterministic for data rules

  void encode(Encoder& out) const;
  static Alert decode(Decoder& in);
};

// A stable id: 16 hex digits of XXH3 over rule, subject, the episode's start (event time for
// data rules) and a tie-breaker, so a replay after a restart names the episode the same way.
std::string make_alert_id(AlertRule rule, std::string_view subject, TimestampMs start, std::uint64_t tie);

// One JSON object. `wall_time` (kMinTime = omitted) is the feed's addition for data rules; the
// alerts.jsonl line of a data rule has none, so batch and stream runs write the same bytes.
void append_alert_json(std::string& out, const Alert& alert, TimestampMs wall_time = kMinTime);

// "12.50" style text for money and ratios, fixed decimals so the output is the same everywhere.
std::string format_fixed(double value, int decimals);

}  // namespace orderpulse
