#include "orderpulse/sink/summary.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace orderpulse {
namespace {

// nlohmann prints 1.1 for 1.10; money must always show two decimals. Money values are stored as
// marked strings and unquoted after dumping (the marker cannot occur in any other summary value).
constexpr std::string_view kMoneyMark = "\x01money:";

nlohmann::ordered_json money(CentsSum c) { return std::string(kMoneyMark) + format_cents(c); }

std::string dump_with_money(const nlohmann::ordered_json& j) {
  std::string text = j.dump(2);
  const std::string_view open = "\"\\u0001money:";  // how dump() writes the mark
  for (std::size_t pos = text.find(open); pos != std::string::npos; pos = text.find(open, pos)) {
    const std::size_t close = text.find('"', pos + open.size());
    text.replace(pos, close + 1 - pos, text.substr(pos + open.size(), close - pos - open.size()));
  }
  return text;
}

nlohmann::ordered_json time_or_null(TimestampMs t, bool valid) {
  return valid ? nlohmann::ordered_json(format_iso8601(t)) : nlohmann::ordered_json(nullptr);
}

}  // namespace

nlohmann::ordered_json make_summary(const Engine& engine, const RunInfo& run) {
  const EngineStats& s = engine.stats();
  nlohmann::ordered_json j;
  j["read"] = s.read;
  j["accepted"] = s.accepted;
  j["rejected"] = s.rejected;
  nlohmann::ordered_json by_reason = nlohmann::ordered_json::object();
  for (std::size_t r = 0; r < kDropReasonCount; ++r) {
    const auto reason = static_cast<DropReason>(r);
    if (is_rejection(reason) && s.by_reason[r] > 0) by_reason[std::string(to_string(reason))] = s.by_reason[r];
  }
  j["rejected_by_reason"] = by_reason;
  j["late"] = s.late;
  j["duplicate"] = s.duplicate;
  j["blank_lines"] = run.blank_lines;
  j["windows_emitted"] = s.windows_emitted;
  const bool any = s.accepted > 0;
  j["first_event_time"] = time_or_null(s.first_event_time, any);
  j["last_event_time"] = time_or_null(s.last_event_time, any);
  const Totals& t = engine.windows().totals();
  j["totals"] = {{"lines", t.lines},
                 {"items", t.items},
                 {"orders", t.orders},
                 {"revenue", money(t.revenue)},
                 {"active_customers", t.customers.estimate()}};
  j["batches"] = s.batches;
  j["bytes_read"] = run.bytes_read;
  j["wall_time_seconds"] = run.wall_seconds;
  j["records_per_second"] = run.wall_seconds > 0 ? static_cast<double>(s.read) / run.wall_seconds : 0.0;
  return j;
}

void write_summary(const std::string& path, const nlohmann::ordered_json& summary) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << dump_with_money(summary) << '\n';
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

}  // namespace orderpulse
