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
#include <memory>
#include <string>
#include <vector>

#include "orderpulse/engine/engine.h"
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
  ServerMetrics(const Config& config, const IngestProbe& ingest, const FeedProbe& feed);

  // Engine thread, after each batch.
  void record_batch(const Engine& engine, const std::vector<WindowResult>& final_windows, const BatchTiming& timing,
                    TimestampMs wall_now);
  // Network thread.
  std::string render();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
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

  // Last values pushed into counters fed from cumulative sources.
  EngineStats last_stats_;
  std::int64_t last_orders_ = 0, last_items_ = 0;
  Cents last_revenue_ = 0;
  std::uint64_t last_sent_ = 0, last_slow_ = 0, last_conn_ = 0, last_bytes_ = 0;
};

}  // namespace orderpulse
