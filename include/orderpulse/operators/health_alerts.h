#pragma once
// The system-health rules (docs/alerts.md): slow batches, watermark lag, late or rejected share
// of a batch, Kafka consumer lag, checkpoint age. They watch the server, not the data, so their
// inputs are what the serve loop measured and their time is the wall clock it passes in; batch
// mode has none. Not checkpointed: after a restart a condition that still holds is a new episode.
// Owned by the Engine; engine thread only.

#include <array>
#include <optional>
#include <vector>

#include "orderpulse/config/alert_config.h"
#include "orderpulse/operators/alert.h"

namespace orderpulse {

// One batch as the serve loop saw it. Absent values are not judged.
struct HealthInputs {
  double batch_seconds = 0;
  double trigger_seconds = 0;
  std::uint64_t batch_records = 0;  // read in this batch
  std::uint64_t batch_late = 0;
  std::uint64_t batch_rejected = 0;
  std::optional<double> watermark_lag_seconds;
  std::optional<std::int64_t> kafka_lag;  // records, over the assigned partitions
  std::optional<double> checkpoint_age_seconds;
  std::optional<bool> kafka_brokers_up;  // with a Kafka source: whether the brokers answer
};

class HealthAlerts {
 public:
  explicit HealthAlerts(const AlertConfig& config) : config_(config) {}

  // Appends the alerts this observation starts or ends.
  void evaluate(const HealthInputs& in, TimestampMs wall_now, std::vector<Alert>& out);

  using Counts = std::array<std::array<std::uint64_t, kAlertSeverityCount>, kAlertRuleCount>;
  void add_firing(Counts& counts) const;

 private:
  // Fires when `bad`, resolves once `good` (a margin below the bound keeps it from flapping).
  void judge(AlertRule rule, const AlertRuleConfig& rc, bool bad, bool good, std::string_view subject,
             std::vector<std::pair<std::string, std::string>> values, std::string message, TimestampMs now,
             std::vector<Alert>& out);

  const AlertConfig& config_;
  std::array<std::optional<Alert>, kAlertRuleCount> open_;
  std::int64_t slow_streak_ = 0;
  std::int64_t fast_streak_ = 0;
};

}  // namespace orderpulse
