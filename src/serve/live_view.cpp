#include "orderpulse/serve/live_view.h"

#include <algorithm>

#include "orderpulse/common/json_text.h"

namespace orderpulse {
namespace {

constexpr TimestampMs kRateWindowMs = 5'000;

void append_counter(std::string& out, const char* name, std::uint64_t v, bool comma = true) {
  if (comma) out.push_back(',');
  out.push_back('"');
  out += name;
  out += "\":";
  out += std::to_string(v);
}

std::shared_ptr<const std::string> message(std::string_view type, const std::string& data) {
  auto text = std::make_shared<std::string>();
  text->reserve(data.size() + 32);
  *text += "{\"type\":\"";
  *text += type;
  *text += "\",\"data\":";
  *text += data;
  text->push_back('}');
  return text;
}

}  // namespace

LiveView::LiveView(const Config& config, FeedHub& hub) : hub_(hub) {
  for (const auto& w : config.windows) spec_names_.push_back(w.name);
}

void LiveView::on_window(const WindowResult& window) { batch_windows_.push_back(window); }

void LiveView::on_alert(const Alert& alert) { batch_alerts_.push_back(alert); }

std::shared_ptr<const std::string> LiveView::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void LiveView::append_state(std::string& out, const Engine& engine, const std::vector<WindowResult>& open,
                            TimestampMs wall_now) const {
  const EngineStats& s = engine.stats();
  const bool has_wm = s.watermark != kMinTime && s.watermark != kMaxTime;
  out += "\"server_time\":\"";
  append_iso8601(out, wall_now);
  out += "\",\"watermark\":";
  if (has_wm) {
    out.push_back('"');
    append_iso8601(out, s.watermark);
    out.push_back('"');
  } else {
    out += "null";
  }
  out += ",\"watermark_lag_seconds\":";
  out += has_wm ? std::to_string(static_cast<double>(wall_now - s.watermark) / 1000.0) : "null";
  out += ",\"watermark_source\":";
  const auto holder = engine.watermarks().holding_source();
  if (holder && source_name_) append_json_string(out, source_name_(*holder));
  else out += "null";
  out += ",\"windows\":[";
  for (std::size_t i = 0; i < spec_names_.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, spec_names_[i]);
  }
  const Totals& t = engine.windows().totals();
  out += "],\"totals\":{";
  append_counter(out, "lines", static_cast<std::uint64_t>(t.lines), false);
  append_counter(out, "items", static_cast<std::uint64_t>(t.items));
  append_counter(out, "orders", static_cast<std::uint64_t>(t.orders));
  out += ",\"revenue\":";
  append_json_money(out, t.revenue);
  append_counter(out, "active_customers", t.customers.estimate());
  out += "},\"counters\":{";
  append_counter(out, "read", s.read, false);
  append_counter(out, "accepted", s.accepted);
  append_counter(out, "rejected", s.rejected);
  append_counter(out, "late", s.late);
  append_counter(out, "duplicate", s.duplicate);
  out += ",\"dropped_by_reason\":{";
  bool first = true;
  for (std::size_t r = 1; r < kDropReasonCount; ++r) {
    if (s.by_reason[r] == 0) continue;
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, to_string(static_cast<DropReason>(r)));
    out.push_back(':');
    out += std::to_string(s.by_reason[r]);
  }
  out += "}},\"records_per_second\":";
  out += std::to_string(rate_);
  append_counter(out, "batches", s.batches);
  out += ",\"open_windows\":[";
  for (std::size_t i = 0; i < open.size(); ++i) {
    if (i) out.push_back(',');
    std::string w;
    append_window_json(w, open[i]);
    w.back() = ',';  // reopen the object to mark it partial
    w += "\"partial\":true}";
    out += w;
  }
  out.push_back(']');
}

void LiveView::after_batch(Engine& engine, TimestampMs wall_now, bool changed) {
  // Records per second over the last few seconds of wall time.
  rate_samples_.emplace_back(wall_now, engine.stats().read);
  while (rate_samples_.size() > 2 && wall_now - rate_samples_[1].first >= kRateWindowMs) rate_samples_.pop_front();
  const auto& [t0, n0] = rate_samples_.front();
  rate_ = wall_now > t0 ? static_cast<double>(engine.stats().read - n0) * 1000.0 / static_cast<double>(wall_now - t0) : 0.0;

  for (const WindowResult& w : batch_windows_) {
    std::string data;
    append_window_json(data, w);
    hub_.publish({FeedChannel::window, message("window", data)});
    recent_.push_back(std::move(data));
    if (recent_.size() > kRecentWindows) recent_.pop_front();
  }
  batch_windows_.clear();
  // Data rules' alerts get the wall time they reached the feed; health rules carry their own.
  for (const Alert& a : batch_alerts_) {
    std::string data;
    append_alert_json(data, a, wall_now);
    hub_.publish({FeedChannel::alert, message("alert", data)});
    recent_alerts_.push_back(std::move(data));
    if (recent_alerts_.size() > kRecentAlerts) recent_alerts_.pop_front();
  }
  const bool had_alerts = !batch_alerts_.empty();
  batch_alerts_.clear();
  const bool quiet = !changed;
  if (changed) open_stale_ = true;
  const TimestampMs watermark = engine.stats().watermark;
  const bool one_final = std::any_of(open_.begin(), open_.end(), [watermark](const WindowResult& w) { return w.end <= watermark; });
  const bool refresh = open_stale_ && (quiet || one_final || open_at_ == kMinTime || wall_now - open_at_ >= kOpenRefreshMs);
  if (!changed && !had_alerts && snapshot_ && !refresh) return;

  if (refresh) {
    open_ = engine.open_windows();
    open_at_ = wall_now;
    open_stale_ = false;
  }
  std::string state = "{";
  append_state(state, engine, open_, wall_now);
  hub_.publish({FeedChannel::metrics, message("metrics", state + "}")});

  state += ",\"recent_windows\":[";
  for (std::size_t i = 0; i < recent_.size(); ++i) {
    if (i) state.push_back(',');
    state += recent_[i];
  }
  state += "],\"alerts\":[";
  for (std::size_t i = 0; i < recent_alerts_.size(); ++i) {
    if (i) state.push_back(',');
    state += recent_alerts_[i];
  }
  state += "]}";
  auto snap = message("snapshot", state);
  std::lock_guard lock(snapshot_mutex_);
  snapshot_ = std::move(snap);
}

}  // namespace orderpulse
