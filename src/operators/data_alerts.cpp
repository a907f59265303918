#include "orderpulse/operators/data_alerts.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>


namespace orderpulse {
namespace {

constexpr DurationMs kMinute = 60'000;

TimestampMs floor_to(TimestampMs t, DurationMs step) {
  const TimestampMs r = t % step;
  return r < 0 ? t - r - step : t - r;
}

std::string key_of(AlertRule rule, std::string_view subject, TimestampMs window = kMinTime) {
  const std::string_view name = to_string(rule);
  std::string key;
  key.reserve(name.size() + subject.size() + 22);
  key += name;
  key.push_back('|');
  key += subject;
  if (window != kMinTime) {
    char digits[24];
    key.push_back('|');
    key.append(digits, std::to_chars(digits, digits + sizeof digits, window).ptr);
  }
  return key;
}

std::string minute_text(TimestampMs minute) { return format_iso8601(minute); }

}  // namespace

const AlertRuleConfig& DataAlerts::rule_config(AlertRule rule) const {
  switch (rule) {
    case AlertRule::low_inventory: return config_.low_inventory;
    case AlertRule::customer_burst: return config_.customer_burst;
    case AlertRule::high_value_customer: return config_.high_value_customer;
    case AlertRule::high_value_order: return config_.high_value_order;
    default: return config_.order_pattern;
  }
}

void DataAlerts::on_batch(EventBatch& batch, Collector& out) {
  const auto& events = batch.events();
  const bool pattern = config_.order_pattern.enabled;
  const bool customers = config_.any_customer_rule();
  std::size_t next_stock = 0;
  // The customer sums outgrow the caches: prefetch the slot of the record a few places ahead (in
  // the window of the current one, which nearly always is its window too).
  constexpr std::size_t kAhead = 8;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (customers && cached_customers_ && i + kAhead < events.size()) cached_customers_->prefetch(events[i + kAhead].customer_hash);
    const Event& e = events[i];
    if (e.status != EventStatus::accepted) continue;
    seq_now_ = ++state_.seq;
    for (; next_stock < out.stock.size() && out.stock[next_stock].event == i; ++next_stock)
      if (config_.low_inventory.enabled) on_stock(out.stock[next_stock], e);
    if (e.kind != EventKind::order) continue;
    if (pattern) {
      // Most records fall in the cached minute: no division then.
      const TimestampMs minute =
          cached_minute_ != kMinTime && e.event_time >= cached_minute_ && e.event_time - cached_minute_ < kMinute
              ? cached_minute_
              : floor_to(e.event_time, kMinute);
      // A minute already judged can only be reached by a source that joined late: it is left out.
      if (state_.next_minute == kMinTime || minute >= state_.next_minute) {
        if (minute != cached_minute_) {
          cached_sums_ = &state_.minutes[minute];
          cached_minute_ = minute;
        }
        cached_sums_->orders += e.line == 1;
        cached_sums_->revenue += e.revenue();
      }
    }
    if (customers) on_customer(e);
  }
  out.stock.clear();
}

void DataAlerts::on_stock(const StockLevel& level, const Event& e) {
  const std::string subject = "product:" + std::string(directory_.product_name(level.product));
  const std::string key = key_of(AlertRule::low_inventory, subject);
  auto it = state_.open.find(key);
  std::vector<std::pair<std::string, std::string>> values{{"stock", std::to_string(level.stock)},
                                                          {"reorder_level", std::to_string(level.reorder_level)}};
  if (!level.restock && level.stock <= level.reorder_level && it == state_.open.end()) {
    Alert a;
    a.id = make_alert_id(AlertRule::low_inventory, subject, e.event_time, seq_now_);
    a.rule = AlertRule::low_inventory;
    a.severity = config_.low_inventory.severity;
    a.subject = subject;
    a.event_time = e.event_time;
    a.values = std::move(values);
    a.message = "stock " + std::to_string(level.stock) + " at or below reorder level " + std::to_string(level.reorder_level);
    fire(key, std::move(a), e.event_time, 1, kMaxTime);
  } else if (level.restock && level.stock > level.reorder_level && it != state_.open.end()) {
    resolve(it, e.event_time, e.event_time, 1, std::move(values),
            "restocked to " + std::to_string(level.stock) + ", above reorder level " + std::to_string(level.reorder_level));
  }
}

DataAlerts::DataAlerts(const AlertConfig& config, const ProductDirectory& directory)
    : config_(config),
      directory_(directory),
      burst_orders_(config.customer_burst.enabled ? config.customer_burst.orders : std::numeric_limits<std::int64_t>::max()),
      customer_revenue_(config.high_value_customer.enabled ? config.high_value_customer.revenue : std::numeric_limits<Cents>::max()),
      order_revenue_(config.high_value_order.enabled ? config.high_value_order.revenue : std::numeric_limits<Cents>::max()) {}

void DataAlerts::customer_window(TimestampMs t) {
  const TimestampMs window = floor_to(t, config_.customer_window);
  auto [it, created] = state_.customers.try_emplace(window);
  // A window's customers are much like those of the one before it: sized up front, its tables
  // skip growing one doubling at a time.
  if (created && it != state_.customers.begin()) it->second.reserve(std::prev(it)->second.size());
  cached_customers_ = &it->second;
  cached_window_ = window;
}

inline void DataAlerts::on_customer(const Event& e) {
  if (!cached_customers_ || e.event_time < cached_window_ || e.event_time - cached_window_ >= config_.customer_window)
    customer_window(e.event_time);
  const CustomerSums::Wide c = cached_customers_->add(e.customer_hash, cow_, e.revenue(), e.line == 1);
  // A disabled rule's limit is out of reach (judge_customer asks again, exactly).
  if (c.orders > burst_orders_ || c.revenue >= customer_revenue_ || e.revenue() >= order_revenue_) [[unlikely]]
    judge_customer(e, c);
}

void DataAlerts::judge_customer(const Event& e, CustomerSums::Wide c) {
  const TimestampMs window = cached_window_;
  const std::uint8_t fired_before = c.fired;
  // Texts are built only for an alert that fires: this runs for every record.
  const TimestampMs until = window + config_.customer_window;
  auto maybe_fire = [&](AlertRule rule, std::uint8_t bit, bool crossed, const auto& describe) {
    if (!crossed || (c.fired & bit) || !rule_config(rule).enabled) return;
    c.fired |= bit;
    Alert a;
    a.subject = "customer:" + std::string(e.customer_id);
    a.id = make_alert_id(rule, a.subject, e.event_time, seq_now_);
    a.rule = rule;
    a.severity = rule_config(rule).severity;
    a.event_time = e.event_time;
    describe(a);
    std::string key = key_of(rule, a.subject, window);
    fire(std::move(key), std::move(a), e.event_time, 1, until);
  };
  auto window_text = [&] { return " in the window from " + format_iso8601(window); };
  maybe_fire(AlertRule::customer_burst, 1, c.orders > config_.customer_burst.orders, [&](Alert& a) {
    a.values = {{"orders", std::to_string(c.orders)}, {"limit", std::to_string(config_.customer_burst.orders)}};
    a.message = std::to_string(c.orders) + " orders" + window_text() + " (limit " + std::to_string(config_.customer_burst.orders) + ")";
  });
  maybe_fire(AlertRule::high_value_customer, 2, c.revenue >= config_.high_value_customer.revenue, [&](Alert& a) {
    a.values = {{"revenue", format_cents(c.revenue)}, {"threshold", format_cents(config_.high_value_customer.revenue)}};
    a.message = "spent " + format_cents(c.revenue) + window_text();
  });
  maybe_fire(AlertRule::high_value_order, 4, e.revenue() >= config_.high_value_order.revenue, [&](Alert& a) {
    a.values = {{"revenue", format_cents(e.revenue())}, {"threshold", format_cents(config_.high_value_order.revenue)}};
    a.message = "order " + std::string(e.order_id) + " line " + std::to_string(e.line) + " worth " + format_cents(e.revenue());
  });
  // Rare (an alert fired): a second lookup, of a slot just read.
  if (c.fired != fired_before)
    cached_customers_->update(e.customer_hash, [&](CustomerSums::Wide& w) { w.fired = c.fired; }, cow_);
}

void DataAlerts::on_watermark(TimestampMs watermark, Collector& out) {
  cached_minute_ = kMinTime;
  cached_sums_ = nullptr;
  cached_customers_ = nullptr;
  // Minutes the watermark has made final, in order. At end of input: up to the last one with data,
  // which is left out: the input nearly always ends inside it, and a partial minute would read as a
  // drop. A live run ending the same way (--exit-at-eof) judges the same minutes.
  if (config_.order_pattern.enabled) {
    const TimestampMs limit = watermark != kMaxTime ? watermark
                              : state_.minutes.empty() ? state_.next_minute
                                                       : state_.minutes.rbegin()->first;
    // The first minute with data is neither judged nor history: the input nearly always starts
    // inside it. It is known for certain only once the watermark has passed its end (an earlier
    // record would now be late), so until then every minute is collected.
    if (state_.next_minute == kMinTime && !state_.minutes.empty() && state_.minutes.begin()->first + kMinute <= limit) {
      state_.next_minute = state_.minutes.begin()->first + kMinute;
      state_.minutes.erase(state_.minutes.begin());
    }
    const std::size_t n = static_cast<std::size_t>(config_.order_pattern.trailing / kMinute);
    while (state_.next_minute != kMinTime && state_.next_minute + kMinute <= limit) {
      MinuteSums sums;
      if (auto it = state_.minutes.begin(); it != state_.minutes.end() && it->first == state_.next_minute) {
        sums = it->second;
        state_.minutes.erase(it);
      }
      const bool quiet = sums.orders == 0 && sums.revenue == 0 && state_.trailing.size() == n &&
                         std::all_of(state_.trailing.begin(), state_.trailing.end(), [](const MinuteSums& s) { return s.orders == 0 && s.revenue == 0; });
      const bool episodes = std::any_of(state_.open.begin(), state_.open.end(), [](const auto& kv) {
        const AlertRule r = kv.second.alert.rule;
        return r >= AlertRule::order_spike && r <= AlertRule::revenue_drop;
      });
      if (quiet && !episodes) {
        // A quiet stretch judges nothing: the trailing minutes stay zero. Skip to the next data.
        TimestampMs skip = floor_to(limit, kMinute);
        if (!state_.minutes.empty()) skip = std::min(skip, state_.minutes.begin()->first);
        state_.next_minute = std::max(skip, state_.next_minute + kMinute);
        continue;
      }
      judge_minute(state_.next_minute, sums);
      state_.next_minute += kMinute;
    }
  }
  // Customer windows the watermark has closed: their episodes end, their sums are freed.
  if (earliest_until_ <= watermark) {
    earliest_until_ = kMaxTime;
    for (auto it = state_.open.begin(); it != state_.open.end();) {
      auto next = std::next(it);
      const TimestampMs until = it->second.until;
      if (until != kMaxTime && until <= watermark) {
        resolve(it, until, until, 0, std::nullopt, "window closed");
      } else {
        earliest_until_ = std::min(earliest_until_, until);
      }
      it = next;
    }
  }
  while (!state_.customers.empty() && state_.customers.begin()->first + config_.customer_window <= watermark)
    state_.customers.erase(state_.customers.begin());
  // Release what the watermark has passed, in event-time order.
  if (state_.pending.empty()) return;
  // Those still waiting are in order; the ones decided since the last release follow them.
  const auto unsorted = std::is_sorted_until(state_.pending.begin(), state_.pending.end());
  std::sort(unsorted, state_.pending.end());
  std::inplace_merge(state_.pending.begin(), unsorted, state_.pending.end());
  std::size_t n = 0;
  while (n < state_.pending.size() && (watermark == kMaxTime || state_.pending[n].release < watermark)) ++n;
  for (std::size_t i = 0; i < n; ++i) out.alerts.push_back(std::move(state_.pending[i].alert));
  state_.pending.erase(state_.pending.begin(), state_.pending.begin() + static_cast<std::ptrdiff_t>(n));
}

void DataAlerts::judge_minute(TimestampMs minute, const MinuteSums& sums) {
  const auto& p = config_.order_pattern;
  const std::size_t n = static_cast<std::size_t>(p.trailing / kMinute);
  const std::size_t history = state_.trailing.size();
  if (history >= static_cast<std::size_t>(p.min_history / kMinute) && history > 0) {
    double mo = 0, mr = 0;
    for (const MinuteSums& s : state_.trailing) {
      mo += static_cast<double>(s.orders);
      mr += static_cast<double>(s.revenue);
    }
    mo /= static_cast<double>(history);
    mr /= static_cast<double>(history);
    double vo = 0, vr = 0;
    for (const MinuteSums& s : state_.trailing) {
      vo += (static_cast<double>(s.orders) - mo) * (static_cast<double>(s.orders) - mo);
      vr += (static_cast<double>(s.revenue) - mr) * (static_cast<double>(s.revenue) - mr);
    }
    const double so = std::sqrt(vo / static_cast<double>(history));
    const double sr = std::sqrt(vr / static_cast<double>(history));
    const bool eligible = mo >= p.min_orders && mo > 0;
    judge_metric(AlertRule::order_spike, AlertRule::order_drop, "metric:orders_per_minute", static_cast<double>(sums.orders),
                 mo, so, eligible, minute, history, false);
    judge_metric(AlertRule::revenue_spike, AlertRule::revenue_drop, "metric:revenue_per_minute",
                 static_cast<double>(sums.revenue), mr, sr, eligible, minute, history, true);
  }
  state_.trailing.push_back(sums);
  while (state_.trailing.size() > n) state_.trailing.pop_front();
}

void DataAlerts::judge_metric(AlertRule up, AlertRule down, std::string_view subject, double value, double mean, double sd,
                              bool eligible, TimestampMs minute, std::size_t history, bool money) {
  const auto& p = config_.order_pattern;
  const double z = sd > 0 ? (value - mean) / sd : 0.0;
  // Money is judged in cents and shown in currency units.
  auto show = [money](double v) { return money ? format_fixed(v / 100.0, 2) : format_fixed(v, 2); };
  std::vector<std::pair<std::string, std::string>> values{{"value", show(value)}, {"mean", show(mean)}, {"stddev", show(sd)},
                                                          {"z", format_fixed(z, 2)}, {"minutes", std::to_string(history)}};
  const std::string what = std::string(subject.substr(7));
  for (const AlertRule rule : {up, down}) {
    const bool is_up = rule == up;
    const std::string key = key_of(rule, subject);
    auto it = state_.open.find(key);
    const bool beyond = eligible && sd > 0 && (is_up ? z >= p.z : z <= -p.z);
    const bool back = !eligible || (is_up ? z < p.z_resolve : z > -p.z_resolve);
    if (it == state_.open.end() && beyond) {
      Alert a;
      a.id = make_alert_id(rule, subject, minute, 0);
      a.rule = rule;
      a.severity = p.severity;
      a.subject = std::string(subject);
      a.event_time = minute;
      a.values = values;
      a.message = what + " " + show(value) + " in the minute from " + minute_text(minute) + ", trailing mean " + show(mean) +
                  " (z " + format_fixed(z, 2) + ")";
      fire(key, std::move(a), minute + kMinute, 0, kMaxTime);
    } else if (it != state_.open.end() && back) {
      resolve(it, minute, minute + kMinute, 0, values,
              what + " back to " + show(value) + " in the minute from " + minute_text(minute) + " (z " + format_fixed(z, 2) + ")");
    }
  }
}

void DataAlerts::fire(std::string key, Alert alert, TimestampMs release, std::uint8_t group, TimestampMs until) {
  // The episode keeps a copy of what its resolved record repeats: not the message, which that
  // record replaces.
  std::string message = std::exchange(alert.message, std::string());
  Episode episode{alert, until};
  alert.message = std::move(message);
  state_.pending.push_back(PendingAlert{release, group, group ? seq_now_ : 0, std::move(alert)});
  state_.open.emplace(std::move(key), std::move(episode));
  earliest_until_ = std::min(earliest_until_, until);
}

void DataAlerts::resolve(std::map<std::string, Episode>::iterator it, TimestampMs event_time, TimestampMs release,
                         std::uint8_t group, std::optional<std::vector<std::pair<std::string, std::string>>> values,
                         std::string message) {
  Alert a = std::move(it->second.alert);
  a.firing = false;
  a.event_time = event_time;
  if (values) a.values = std::move(*values);
  a.message = std::move(message);
  state_.pending.push_back(PendingAlert{release, group, group ? seq_now_ : 0, std::move(a)});
  state_.open.erase(it);
}

DataAlerts::Counts DataAlerts::firing() const {
  Counts counts{};
  for (const auto& [key, e] : state_.open) ++counts[static_cast<std::size_t>(e.alert.rule)][static_cast<std::size_t>(e.alert.severity)];
  // A firing record still pending has not been seen outside yet.
  for (const PendingAlert& p : state_.pending) {
    auto& c = counts[static_cast<std::size_t>(p.alert.rule)][static_cast<std::size_t>(p.alert.severity)];
    if (p.alert.firing && c > 0) --c;
    else if (!p.alert.firing) ++c;
  }
  return counts;
}

}  // namespace orderpulse
