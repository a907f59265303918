#pragma once
// The server's Prometheus metrics (prometheus-cpp core; /metrics is served by our own HTTP port).
// Owns the registry. The engine thread records each batch (record_batch); the network thread
// renders (render), reading the ingest and feed probes at scrape time. prometheus-cpp metrics are
// atomic, so no lock is shared between the two.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "orderpulse/checkpoint/checkpointer.h"
#include "orderpulse/engine/engine.h"
#include "orderpulse/ingest/follow_source.h"
#include "orderpulse/ingest/kafka_source.h"
#include "orderpulse/ingest/socket_source.h"
#include "orderpulse/serve/feed_hub.h"

namespace orderpulse {

// How the engine thread spent the last batch, for the busy ratio and queue depth.
struct BatchTiming {
  double batch_seconds = 0;     // processing time of the batch
  double interval_seconds = 0;  // wall time since the previous batch started
  std::size_t queued_records = 0;
};

class ServerMetrics {
 public:
  // `follow` and `kafka` may be null (no such source). `source_name` names watermark sources.
  ServerMetrics(const Config& config, const IngestProbe& ingest, const FeedProbe& feed, const FollowProbe* follow,
                const KafkaProbe* kafka, std::function<std::string(std::uint32_t)> source_name);

  // Engine thread, after each batch. `socket_records`: records processed so far from sources that
  // cannot replay.
  void record_batch(const Engine& engine, const std::vector<WindowResult>& final_windows, const BatchTiming& timing,
                    TimestampMs wall_now, std::uint64_t socket_records);
  // Engine thread, after each batch: the alerts it produced and those firing now.
  void record_alerts(const std::vector<Alert>& alerts, const DataAlerts::Counts& firing);
  // Engine thread: seconds since the last durable checkpoint (since start before the first);
  // empty without checkpoints. The checkpoint_age health rule reads it.
  std::optional<double> checkpoint_age_seconds(TimestampMs wall_now) const;
  // Checkpoint writer thread.
  void record_checkpoint(const CheckpointDone& done);
  void record_checkpoint_failure();
  // Main thread, at start: checkpoints are on; `restore_seconds` is what loading took.
  void checkpoints_enabled(double restore_seconds);
  // Network thread.
  std::string render();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  const FollowProbe* follow_;
  const IngestProbe& ingest_;
  const FeedProbe& feed_;
  std::vector<std::string> spec_names_;

  prometheus::Counter* read_;
  prometheus::Counter* accepted_;
  std::array<prometheus::Counter*, kDropReasonCount> dropped_{};
  prometheus::Counter* batches_;
  prometheus::Histogram* batch_duration_;
  prometheus::Gauge* watermark_;
  prometheus::Gauge* watermark_lag_;
  prometheus::Counter* orders_;
  prometheus::Counter* items_;
  prometheus::Counter* revenue_;
  prometheus::Counter* windows_emitted_;
  std::vector<prometheus::Gauge*> window_revenue_;
  std::vector<prometheus::Gauge*> window_customers_;
  prometheus::Gauge* ws_clients_;
  prometheus::Counter* ws_sent_;
  prometheus::Counter* ws_slow_;
  prometheus::Gauge* ingest_open_;
  prometheus::Counter* ingest_accepted_;
  prometheus::Counter* ingest_bytes_;
  prometheus::Gauge* busy_ratio_;
  prometheus::Gauge* queue_records_;
  prometheus::Gauge* memory_;
  prometheus::Family<prometheus::Counter>* alerts_total_family_;
  prometheus::Family<prometheus::Gauge>* alerts_firing_family_;
  // By rule and severity, added on first use so only the configured pairs appear.
  std::map<std::pair<AlertRule, AlertSeverity>, std::pair<prometheus::Counter*, prometheus::Gauge*>> alert_series_;
  std::pair<prometheus::Counter*, prometheus::Gauge*>& alert_series(AlertRule rule, AlertSeverity severity);

  prometheus::Counter* checkpoints_ = nullptr;
  prometheus::Counter* checkpoint_failures_ = nullptr;
  prometheus::Histogram* checkpoint_duration_ = nullptr;
  prometheus::Histogram* checkpoint_snapshot_ = nullptr;
  prometheus::Gauge* checkpoint_size_ = nullptr;
  prometheus::Gauge* checkpoint_age_ = nullptr;
  prometheus::Gauge* checkpoint_batch_ = nullptr;
  prometheus::Gauge* restore_seconds_ = nullptr;
  prometheus::Counter* cow_seconds_ = nullptr;
  prometheus::Gauge* cow_longest_ = nullptr;
  prometheus::Gauge* uncovered_ = nullptr;
  std::atomic<std::int64_t> checkpoint_wall_ms_{0};  // when the last one became durable; 0 = none
  std::atomic<std::uint64_t> covered_socket_records_{0};
  double last_cow_seconds_ = 0;

  prometheus::Counter* follow_bytes_ = nullptr;
  prometheus::Counter* follow_rotations_ = nullptr;
  prometheus::Counter* follow_truncations_ = nullptr;
  std::vector<prometheus::Gauge*> follow_offsets_;

  const KafkaProbe* kafka_;
  std::function<std::string(std::uint32_t)> source_name_;
  prometheus::Family<prometheus::Gauge>* holder_family_ = nullptr;
  prometheus::Gauge* holder_ = nullptr;
  std::optional<std::uint32_t> holder_source_;
  prometheus::Gauge* idle_sources_ = nullptr;
  prometheus::Counter* kafka_messages_ = nullptr;
  prometheus::Counter* kafka_fetch_errors_ = nullptr;
  prometheus::Counter* kafka_rebalances_ = nullptr;
  prometheus::Counter* kafka_commits_ = nullptr;
  prometheus::Counter* kafka_commit_failures_ = nullptr;
  prometheus::Gauge* kafka_assigned_ = nullptr;
  prometheus::Gauge* kafka_up_ = nullptr;
  prometheus::Gauge* kafka_paused_ = nullptr;
  prometheus::Family<prometheus::Gauge>* kafka_lag_family_ = nullptr;
  std::map<std::int32_t, prometheus::Gauge*> kafka_lag_;
  std::uint64_t last_kmsg_ = 0, last_kerr_ = 0, last_kreb_ = 0, last_kcom_ = 0, last_kcomf_ = 0;
  std::uint64_t last_follow_bytes_ = 0, last_rotations_ = 0, last_truncations_ = 0;

  // Last values pushed into counters fed from cumulative sources.
  EngineStats last_stats_;
  std::int64_t last_orders_ = 0, last_items_ = 0;
  CentsSum last_revenue_ = 0;
  std::uint64_t last_sent_ = 0, last_slow_ = 0, last_conn_ = 0, last_bytes_ = 0;
};

}  // namespace orderpulse
