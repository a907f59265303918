#pragma once
// Turns the engine's state into feed messages after each micro-batch: `window` messages for the
// windows that became final, one `metrics` message, and a fresh `snapshot` for new clients and
// /api/snapshot. Built on the engine thread, each message serialized once; the snapshot is handed
// to other threads as an immutable shared string.

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "orderpulse/engine/engine.h"
#include "orderpulse/serve/feed_hub.h"

namespace orderpulse {

class LiveView final : public ResultSink {
 public:
  static constexpr std::size_t kRecentWindows = 120;
  static constexpr std::size_t kRecentAlerts = 100;
  // Open windows are recomputed at most this often while records keep arriving (each is a merge
  // of up to ten panes: milliseconds with 10k products, and batches come every few tens of ms at
  // full ingest), at once when one of them has become final, and on the first quiet pass after.
  static constexpr TimestampMs kOpenRefreshMs = 250;

  LiveView(const Config& config, FeedHub& hub);

  // How sources are named in the feed ("socket", a followed path, "kafka:TOPIC/PARTITION"), for
  // `watermark_source`: which source holds the watermark back.
  void set_source_names(std::function<std::string(std::uint32_t)> names) { source_name_ = std::move(names); }

  void on_window(const WindowResult& window) override;
  void on_alert(const Alert& alert) override;

  // Engine thread, after each batch: publishes the batch's windows and, when anything changed, a
  // metrics message; refreshes the snapshot.
  void after_batch(Engine& engine, TimestampMs wall_now, bool changed);

  // The windows that became final in the last batch.
  const std::vector<WindowResult>& batch_windows() const { return batch_windows_; }
  // The alerts of the current batch (data and health rules), until after_batch publishes them.
  const std::vector<Alert>& batch_alerts() const { return batch_alerts_; }

  // Any thread; null until the first after_batch (the server calls it before listening).
  std::shared_ptr<const std::string> snapshot() const;

 private:
  void append_state(std::string& out, const Engine& engine, const std::vector<WindowResult>& open, TimestampMs wall_now) const;

  FeedHub& hub_;
  std::function<std::string(std::uint32_t)> source_name_;
  std::vector<std::string> spec_names_;
  std::vector<WindowResult> batch_windows_;
  std::vector<Alert> batch_alerts_;
  std::deque<std::string> recent_;  // window objects (JSON), oldest first
  std::deque<std::string> recent_alerts_;  // alert objects (JSON) as sent, oldest first
  std::deque<std::pair<TimestampMs, std::uint64_t>> rate_samples_;  // (wall time, records read)
  double rate_ = 0;
  std::vector<WindowResult> open_;  // the open windows as last computed
  TimestampMs open_at_ = kMinTime;  // wall time of that computation
  bool open_stale_ = true;          // records or the watermark moved since
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const std::string> snapshot_;
};

}  // namespace orderpulse
