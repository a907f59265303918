#pragma once
// The `alerts` object of the config file (docs/alerts.md): one entry per rule, each with
// `enabled`, `severity` and its thresholds. Unknown keys are rejected by name, like the rest of
// the config. Loaded once at start; read-only afterwards.

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "orderpulse/common/money.h"
#include "orderpulse/common/time.h"
#include "orderpulse/operators/alert.h"

namespace orderpulse {

struct AlertRuleConfig {
  bool enabled = true;
  AlertSeverity severity = AlertSeverity::warning;
};

struct AlertConfig {
  // Data rules: decided by event time, written to alerts.jsonl, checkpointed.
  AlertRuleConfig low_inventory{true, AlertSeverity::warning};
  struct OrderPattern : AlertRuleConfig {
    DurationMs trailing = 30 * 60'000;     // the last N minutes the current one is compared with
    DurationMs min_history = 10 * 60'000;  // no verdict before this much history
    double z = 4.0;                        // fires at |z| >= z
    double z_resolve = 1.0;                // resolves once |z| < z_resolve
    double min_orders = 5;                 // no verdict while the trailing mean is below this
  } order_pattern;
  DurationMs customer_window = 10 * 60'000;  // tumbling, aligned to the epoch; one episode per window
  struct CustomerBurst : AlertRuleConfig {
    static constexpr std::int64_t kMaxOrders = 1'000'000'000;  // lets the per-customer count be 32-bit
    std::int64_t orders = 50;  // fires at more than this many orders in the window
  } customer_burst;
  struct HighValueCustomer : AlertRuleConfig {
    Cents revenue = 1'000'000;  // 10000.00 in the window
  } high_value_customer{{true, AlertSeverity::info}};
  struct HighValueOrder : AlertRuleConfig {
    Cents revenue = 500'000;  // 5000.00 in one order line
  } high_value_order{{true, AlertSeverity::info}};

  // System health (serve mode only), by the wall clock.
  struct BatchSlow : AlertRuleConfig {
    std::int64_t batches = 5;  // consecutive batches slower than the trigger interval
  } batch_slow;
  struct WatermarkLag : AlertRuleConfig {
    DurationMs max = 5 * 60'000;
  } watermark_lag;
  struct Share : AlertRuleConfig {
    double max = 0.2;             // share of a batch's records
    std::int64_t min_records = 100;  // smaller batches are not judged
  } late_share, rejected_share;
  struct KafkaLag : AlertRuleConfig {
    std::int64_t max = 100'000;  // records, summed over the assigned partitions
  } kafka_lag;
  struct CheckpointAge : AlertRuleConfig {
    DurationMs max = 60'000;
  } checkpoint_age{{true, AlertSeverity::critical}};
  AlertRuleConfig kafka_broker_down{true, AlertSeverity::critical};  // no broker reachable

  bool any_customer_rule() const { return customer_burst.enabled || high_value_customer.enabled || high_value_order.enabled; }
  // The data-rule settings in a canonical text: a checkpoint is not restored under other ones.
  std::string canonical_data_rules() const;
};

// Parses the `alerts` object into `out` (starting from its defaults). `origin` names the file.
// Throws ConfigError naming the key.
void parse_alert_config(const nlohmann::json& alerts, const std::string& origin, AlertConfig& out);

}  // namespace orderpulse
