#include "orderpulse/operators/alert.h"

#include <array>
#include <charconv>
#include <cstdio>

#include "orderpulse/common/hash.h"
#include "orderpulse/common/json_text.h"

namespace orderpulse {
namespace {

constexpr std::array<std::string_view, kAlertRuleCount> kRuleNames = {
    "low_inventory", "order_spike", "order_drop",    "revenue_spike", "revenue_drop",   "customer_burst", "high_value_customer",
    "high_value_order", "batch_slow", "watermark_lag", "late_share",   "rejected_share", "kafka_lag",      "checkpoint_age",
    "kafka_broker_down"};
constexpr std::array<std::string_view, kAlertSeverityCount> kSeverityNames = {"info", "warning", "critical"};

}  // namespace

std::string_view to_string(AlertRule rule) { return kRuleNames[static_cast<std::size_t>(rule)]; }
std::string_view to_string(AlertSeverity severity) { return kSeverityNames[static_cast<std::size_t>(severity)]; }

std::string make_alert_id(AlertRule rule, std::string_view subject, TimestampMs start, std::uint64_t tie) {
  // The hashed bytes (ids in earlier outputs and checkpoints depend on them): the rule's name,
  // the subject, then start and tie in decimal, each after a NUL. Built in place: an alert fires
  // thousands of times in a large input, and this ran a fifth of its cost through to_string and
  // snprintf.
  const std::string_view name = to_string(rule);
  std::string key;
  key.reserve(name.size() + subject.size() + 2 * 21 + 3);
  key += name;
  key.push_back('\0');
  key += subject;
  char digits[24];
  key.push_back('\0');
  key.append(digits, std::to_chars(digits, digits + sizeof digits, start).ptr);
  key.push_back('\0');
  key.append(digits, std::to_chars(digits, digits + sizeof digits, tie).ptr);
  std::uint64_t h = stable_hash(key);
  std::string id(16, '0');  // 16 lower-case hex digits
  for (std::size_t i = id.size(); i-- > 0; h >>= 4) id[i] = "0123456789abcdef"[h & 15];
  return id;
}

std::string format_fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

void append_alert_json(std::string& out, const Alert& a, TimestampMs wall_time) {
  out += "{\"id\":";
  append_json_string(out, a.id);
  out += ",\"rule\":\"";
  out += to_string(a.rule);
  out += "\",\"severity\":\"";
  out += to_string(a.severity);
  out += "\",\"state\":\"";
  out += a.firing ? "firing" : "resolved";
  out += "\",\"subject\":";
  append_json_string(out, a.subject);
  if (a.event_time != kMinTime) {
    out += ",\"event_time\":\"";
    append_iso8601(out, a.event_time);
    out.push_back('"');
  }
  const TimestampMs wall = a.wall_time != kMinTime ? a.wall_time : wall_time;
  if (wall != kMinTime) {
    out += ",\"wall_time\":\"";
    append_iso8601(out, wall);
    out.push_back('"');
  }
  out += ",\"values\":{";
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, a.values[i].first);
    out.push_back(':');
    out += a.values[i].second;
  }
  out += "},\"message\":";
  append_json_string(out, a.message);
  out.push_back('}');
}

void Alert::encode(Encoder& out) const {
  out.str(id);
  out.u8(static_cast<std::uint8_t>(rule));
  out.u8(static_cast<std::uint8_t>(severity));
  out.u8(firing ? 1 : 0);
  out.str(subject);
  out.i64(event_time);
  out.i64(wall_time);
  out.varint(values.size());
  for (const auto& [k, v] : values) {
    out.str(k);
    out.str(v);
  }
  out.str(message);
}

Alert Alert::decode(Decoder& in) {
  Alert a;
  a.id = std::string(in.str());
  const std::uint8_t rule = in.u8();
  const std::uint8_t severity = in.u8();
  if (rule >= kAlertRuleCount || severity >= kAlertSeverityCount) throw CodecError("alert: unknown rule or severity");
  a.rule = static_cast<AlertRule>(rule);
  a.severity = static_cast<AlertSeverity>(severity);
  a.firing = in.u8() != 0;
  a.subject = std::string(in.str());
  a.event_time = in.i64();
  a.wall_time = in.i64();
  const std::size_t n = in.count(2);
  for (std::size_t i = 0; i < n; ++i) {
    std::string k(in.str());
    a.values.emplace_back(std::move(k), std::string(in.str()));
  }
  a.message = std::string(in.str());
  return a;
}

}  // namespace orderpulse
