#include "orderpulse/operators/health_alerts.h"

namespace orderpulse {
namespace {

// A condition resolves once its value is below this share of the bound.
constexpr double kResolveShare = 0.8;

}  // namespace

void HealthAlerts::evaluate(const HealthInputs& in, TimestampMs now, std::vector<Alert>& out) {
  const AlertConfig& c = config_;
  if (in.batch_records > 0) {
    const bool slow = in.batch_seconds > in.trigger_seconds;
    slow_streak_ = slow ? slow_streak_ + 1 : 0;
    fast_streak_ = slow ? 0 : fast_streak_ + 1;
    judge(AlertRule::batch_slow, c.batch_slow, slow_streak_ >= c.batch_slow.batches, fast_streak_ >= c.batch_slow.batches,
          "metric:batch_duration",
          {{"batch_seconds", format_fixed(in.batch_seconds, 3)}, {"trigger_seconds", format_fixed(in.trigger_seconds, 3)},
           {"batches", std::to_string(c.batch_slow.batches)}},
          std::to_string(c.batch_slow.batches) + " batches in a row took longer than the trigger interval", now, out);
  }
  if (in.watermark_lag_seconds) {
    const double bound = static_cast<double>(c.watermark_lag.max) / 1000.0;
    const double lag = *in.watermark_lag_seconds;
    judge(AlertRule::watermark_lag, c.watermark_lag, lag > bound, lag < bound * kResolveShare, "metric:watermark_lag",
          {{"lag_seconds", format_fixed(lag, 1)}, {"max_seconds", format_fixed(bound, 1)}},
          "watermark " + format_fixed(lag, 1) + " s behind the wall clock", now, out);
  }
  const auto share = [&](AlertRule rule, const AlertConfig::Share& rc, std::uint64_t part, std::string_view what) {
    if (in.batch_records < static_cast<std::uint64_t>(rc.min_records)) return;
    const double s = static_cast<double>(part) / static_cast<double>(in.batch_records);
    judge(rule, rc, s > rc.max, s < rc.max * kResolveShare, "metric:" + std::string(what) + "_share",
          {{"share", format_fixed(s, 4)}, {"max", format_fixed(rc.max, 4)}, {"records", std::to_string(in.batch_records)}},
          format_fixed(s * 100, 1) + "% of a batch of " + std::to_string(in.batch_records) + " records " + std::string(what), now, out);
  };
  share(AlertRule::late_share, c.late_share, in.batch_late, "late");
  share(AlertRule::rejected_share, c.rejected_share, in.batch_rejected, "rejected");
  if (in.kafka_lag) {
    const double bound = static_cast<double>(c.kafka_lag.max);
    const double lag = static_cast<double>(*in.kafka_lag);
    judge(AlertRule::kafka_lag, c.kafka_lag, lag > bound, lag < bound * kResolveShare, "metric:kafka_consumer_lag",
          {{"lag", std::to_string(*in.kafka_lag)}, {"max", std::to_string(c.kafka_lag.max)}},
          std::to_string(*in.kafka_lag) + " records behind the partition ends", now, out);
  }
  if (in.kafka_brokers_up) {
    const bool up = *in.kafka_brokers_up;
    judge(AlertRule::kafka_broker_down, c.kafka_broker_down, !up, up, "metric:kafka_brokers", {{"up", up ? "1" : "0"}},
          "no Kafka broker reachable; consuming resumes when one answers", now, out);
  }
  if (in.checkpoint_age_seconds) {
    const double bound = static_cast<double>(c.checkpoint_age.max) / 1000.0;
    const double age = *in.checkpoint_age_seconds;
    judge(AlertRule::checkpoint_age, c.checkpoint_age, age > bound, age < bound * kResolveShare, "metric:checkpoint_age",
          {{"age_seconds", format_fixed(age, 1)}, {"max_seconds", format_fixed(bound, 1)}},
          "no durable checkpoint for " + format_fixed(age, 1) + " s", now, out);
  }
}

void HealthAlerts::judge(AlertRule rule, const AlertRuleConfig& rc, bool bad, bool good, std::string_view subject,
                         std::vector<std::pair<std::string, std::string>> values, std::string message, TimestampMs now,
                         std::vector<Alert>& out) {
  if (!rc.enabled) return;
  std::optional<Alert>& open = open_[static_cast<std::size_t>(rule)];
  if (!open && bad) {
    Alert a;
    a.rule = rule;
    a.severity = rc.severity;
    a.subject = std::string(subject);
    a.id = make_alert_id(rule, a.subject, now, 0);
    a.wall_time = now;
    a.values = std::move(values);
    a.message = std::move(message);
    open = a;
    out.push_back(std::move(a));
  } else if (open && good) {
    Alert a = std::move(*open);
    open.reset();
    a.firing = false;
    a.wall_time = now;
    a.values = std::move(values);
    a.message = "back within bounds";
    out.push_back(std::move(a));
  }
}

void HealthAlerts::add_firing(Counts& counts) const {
  for (const auto& a : open_)
    if (a) ++counts[static_cast<std::size_t>(a->rule)][static_cast<std::size_t>(a->severity)];
}

}  // namespace orderpulse
