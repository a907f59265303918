#pragma once
// The data alert rules (docs/alerts.md): low inventory, unusual order patterns (per-minute orders
// and revenue against their trailing mean and standard deviation), customer bursts and high-value
// customers. Every decision is a function of the record sequence alone — per record in read order
// (inventory, customer sums), or per minute once the watermark has made that minute final — and
// decided alerts are released in event-time order once the watermark passes them. So alerts.jsonl
// is the same whatever the micro-batch boundaries, in batch and in streaming mode. Owns
// AlertState; reads names from the engine's ProductDirectory. Engine thread only.

#include <array>
#include <optional>

#include "orderpulse/config/alert_config.h"
#include "orderpulse/engine/operator.h"
#include "orderpulse/state/alert_state.h"
#include "orderpulse/state/product_directory.h"

namespace orderpulse {

class DataAlerts final : public Operator {
 public:
  DataAlerts(const AlertConfig& config, const ProductDirectory& directory);

  std::string_view name() const override { return "data_alerts"; }
  void on_batch(EventBatch& batch, Collector& out) override;
  void on_watermark(TimestampMs watermark, Collector& out) override;

  // Episodes whose firing record has been released and that have not resolved, by rule and
  // severity (the /metrics gauge).
  using Counts = std::array<std::array<std::uint64_t, kAlertSeverityCount>, kAlertRuleCount>;
  Counts firing() const;

  // Checkpoint state: a copy (see AlertState for its size).
  const AlertState& freeze() const { return state_; }
  const CowStats& cow_stats() const { return cow_; }
  static void encode(const AlertState& state, Encoder& out) { state.encode(out); }
  void decode(Decoder& in) {
    state_.decode(in);
    earliest_until_ = kMinTime;  // unknown: the next watermark looks at every open episode
  }

 private:
  void on_stock(const StockLevel& level, const Event& e);
  // Adds the record to its customer's sums; the rules are looked at only when a sum reaches an
  // enabled rule's limit (rarely: this runs for every record, so it stays small enough to inline).
  void on_customer(const Event& e);
  void customer_window(TimestampMs t);  // points cached_customers_ at t's window, creating it
  [[gnu::noinline]] void judge_customer(const Event& e, CustomerSums::Wide c);
  void judge_minute(TimestampMs minute, const MinuteSums& sums);
  void judge_metric(AlertRule up, AlertRule down, std::string_view subject, double value, double mean, double sd,
                    bool eligible, TimestampMs minute, std::size_t history, bool money);
  void fire(std::string key, Alert alert, TimestampMs release, std::uint8_t group, TimestampMs until);
  // `values`: the resolved record's numbers; none: the firing record's.
  void resolve(std::map<std::string, Episode>::iterator it, TimestampMs event_time, TimestampMs release,
               std::uint8_t group, std::optional<std::vector<std::pair<std::string, std::string>>> values,
               std::string message);
  const AlertRuleConfig& rule_config(AlertRule rule) const;

  const AlertConfig& config_;
  const ProductDirectory& directory_;
  AlertState state_;
  std::uint64_t seq_now_ = 0;  // read position of the record being handled
  // The bucket the previous record went to: most records of a batch share one.
  // No open episode ends before this (kMinTime: not known). Thousands of customer episodes may be
  // open; a watermark before their windows end then skips looking at each of them.
  TimestampMs earliest_until_ = kMinTime;
  TimestampMs cached_minute_ = kMinTime;
  MinuteSums* cached_sums_ = nullptr;
  TimestampMs cached_window_ = kMinTime;
  CustomerWindow* cached_customers_ = nullptr;
  // The customer rules' limits, a disabled rule's set out of reach: one test per record decides
  // whether any rule needs a closer look.
  std::int64_t burst_orders_;
  Cents customer_revenue_, order_revenue_;
  CowStats cow_;
};

}  // namespace orderpulse
