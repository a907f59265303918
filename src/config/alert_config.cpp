#include "orderpulse/config/alert_config.h"

#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "orderpulse/config/config.h"

namespace orderpulse {
namespace {

using Field = std::function<void(const nlohmann::json&, const std::string&)>;

double number_value(const nlohmann::json& v, const std::string& where, double lo) {
  if (!v.is_number() || v.get<double>() < lo) throw ConfigError(where + " must be a number of at least " + format_fixed(lo, 1));
  return v.get<double>();
}

std::int64_t int_value(const nlohmann::json& v, const std::string& where, std::int64_t lo) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < lo)
    throw ConfigError(where + " must be an integer of at least " + std::to_string(lo));
  return v.get<std::int64_t>();
}

DurationMs positive_duration(const nlohmann::json& v, const std::string& where) {
  if (!v.is_string()) throw ConfigError(where + " must be a duration string such as \"30s\"");
  DurationMs d = 0;
  try {
    d = parse_duration(v.get<std::string>());
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": " + e.what());
  }
  if (d <= 0) throw ConfigError(where + " must be positive");
  return d;
}

// Money as a JSON number or string, kept in cents like every amount.
Cents money_value(const nlohmann::json& v, const std::string& where) {
  std::optional<Cents> c;
  if (v.is_number()) c = parse_decimal_cents(v.dump());
  else if (v.is_string()) c = parse_decimal_cents(v.get<std::string>());
  if (!c || *c < 0) throw ConfigError(where + " must be an amount such as 2000.00");
  return *c;
}

// One rule object: enabled, severity and the rule's own keys.
void parse_rule(const nlohmann::json& v, const std::string& where, AlertRuleConfig& rule, std::map<std::string, Field> fields) {
  if (!v.is_object()) throw ConfigError(where + " must be an object");
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string key_where = where.substr(0, where.size() - 1) + "." + it.key() + "'";
    if (it.key() == "enabled") {
      if (!it.value().is_boolean()) throw ConfigError(key_where + " must be true or false");
      rule.enabled = it.value().get<bool>();
    } else if (it.key() == "severity") {
      const std::string s = it.value().is_string() ? it.value().get<std::string>() : "";
      if (s == "info") rule.severity = AlertSeverity::info;
      else if (s == "warning") rule.severity = AlertSeverity::warning;
      else if (s == "critical") rule.severity = AlertSeverity::critical;
      else throw ConfigError(key_where + " must be \"info\", \"warning\" or \"critical\"");
    } else if (auto f = fields.find(it.key()); f != fields.end()) {
      f->second(it.value(), key_where);
    } else {
      std::string known = "enabled, severity";
      for (const auto& [k, fn] : fields) known += ", " + k;
      throw ConfigError(key_where + ": unknown key (known: " + known + ")");
    }
  }
}

}  // namespace

void parse_alert_config(const nlohmann::json& doc, const std::string& origin, AlertConfig& c) {
  if (!doc.is_object()) throw ConfigError(origin + ": 'alerts' must be an object of rules");
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    const std::string where = origin + ": 'alerts." + key + "'";
    if (key == "low_inventory") {
      parse_rule(v, where, c.low_inventory, {});
    } else if (key == "order_pattern") {
      auto& r = c.order_pattern;
      parse_rule(v, where, r,
                 {{"trailing", [&](const nlohmann::json& x, const std::string& w) { r.trailing = positive_duration(x, w); }},
                  {"min_history", [&](const nlohmann::json& x, const std::string& w) { r.min_history = positive_duration(x, w); }},
                  {"z", [&](const nlohmann::json& x, const std::string& w) { r.z = number_value(x, w, 0.1); }},
                  {"z_resolve", [&](const nlohmann::json& x, const std::string& w) { r.z_resolve = number_value(x, w, 0.0); }},
                  {"min_orders", [&](const nlohmann::json& x, const std::string& w) { r.min_orders = number_value(x, w, 0.0); }}});
      if (r.trailing % 60'000 != 0 || r.min_history % 60'000 != 0 || r.min_history > r.trailing)
        throw ConfigError(where + ": trailing and min_history must be whole minutes, min_history at most trailing");
      if (r.z_resolve > r.z) throw ConfigError(where + ": z_resolve must not exceed z");
    } else if (key == "customer_window") {
      c.customer_window = positive_duration(v, where);
    } else if (key == "customer_burst") {
      auto& r = c.customer_burst;
      parse_rule(v, where, r, {{"orders", [&](const nlohmann::json& x, const std::string& w) {
                   r.orders = int_value(x, w, 1);
                   if (r.orders > AlertConfig::CustomerBurst::kMaxOrders)
                     throw ConfigError(w + " must be at most " + std::to_string(AlertConfig::CustomerBurst::kMaxOrders));
                 }}});
    } else if (key == "high_value_customer") {
      auto& r = c.high_value_customer;
      parse_rule(v, where, r, {{"revenue", [&](const nlohmann::json& x, const std::string& w) { r.revenue = money_value(x, w); }}});
    } else if (key == "high_value_order") {
      auto& r = c.high_value_order;
      parse_rule(v, where, r, {{"revenue", [&](const nlohmann::json& x, const std::string& w) { r.revenue = money_value(x, w); }}});
    } else if (key == "batch_slow") {
      auto& r = c.batch_slow;
      parse_rule(v, where, r, {{"batches", [&](const nlohmann::json& x, const std::string& w) { r.batches = int_value(x, w, 1); }}});
    } else if (key == "watermark_lag" || key == "checkpoint_age") {
      DurationMs& max = key == "watermark_lag" ? c.watermark_lag.max : c.checkpoint_age.max;
      AlertRuleConfig& r = key == "watermark_lag" ? static_cast<AlertRuleConfig&>(c.watermark_lag) : c.checkpoint_age;
      parse_rule(v, where, r, {{"max", [&](const nlohmann::json& x, const std::string& w) { max = positive_duration(x, w); }}});
    } else if (key == "late_share" || key == "rejected_share") {
      auto& r = key == "late_share" ? c.late_share : c.rejected_share;
      parse_rule(v, where, r,
                 {{"max", [&](const nlohmann::json& x, const std::string& w) { r.max = number_value(x, w, 0.0); }},
                  {"min_records", [&](const nlohmann::json& x, const std::string& w) { r.min_records = int_value(x, w, 1); }}});
    } else if (key == "kafka_broker_down") {
      parse_rule(v, where, c.kafka_broker_down, {});
    } else if (key == "kafka_lag") {
      auto& r = c.kafka_lag;
      parse_rule(v, where, r, {{"max", [&](const nlohmann::json& x, const std::string& w) { r.max = int_value(x, w, 0); }}});
    } else {
      throw ConfigError(where + ": unknown key (known: low_inventory, order_pattern, customer_window, customer_burst, "
                                "high_value_customer, high_value_order, batch_slow, watermark_lag, late_share, "
                                "rejected_share, kafka_lag, kafka_broker_down, checkpoint_age)");
    }
  }
}

std::string AlertConfig::canonical_data_rules() const {
  auto rule = [](const AlertRuleConfig& r) { return std::string(r.enabled ? "on/" : "off/") + std::string(to_string(r.severity)); };
  const auto& p = order_pattern;
  return "low_inventory=" + rule(low_inventory) + ";order_pattern=" + rule(p) + "/" + format_duration(p.trailing) + "/" +
         format_duration(p.min_history) + "/" + format_fixed(p.z, 3) + "/" + format_fixed(p.z_resolve, 3) + "/" +
         format_fixed(p.min_orders, 3) + ";customer_window=" + format_duration(customer_window) +
         ";customer_burst=" + rule(customer_burst) + "/" + std::to_string(customer_burst.orders) +
         ";high_value_customer=" + rule(high_value_customer) + "/" + format_cents(high_value_customer.revenue) +
         ";high_value_order=" + rule(high_value_order) + "/" + format_cents(high_value_order.revenue);
}

}  // namespace orderpulse
