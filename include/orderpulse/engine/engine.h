#pragma once
// The micro-batch engine: owns every operator and all operator state, and runs on one thread
// (the caller's). For each batch: parse, run the operators in order, account for every record,
// advance the watermark, finalize windows, hand results to the sinks. Batch mode and the live
// server drive the same Engine; end of input is a watermark at +infinity.

#include <array>
#include <memory>
#include <vector>

#include "orderpulse/config/config.h"
#include "orderpulse/engine/event_batch.h"
#include "orderpulse/engine/operator.h"
#include "orderpulse/engine/watermarks.h"
#include "orderpulse/event/parser.h"
#include "orderpulse/operators/admission.h"
#include "orderpulse/operators/data_alerts.h"
#include "orderpulse/operators/health_alerts.h"
#include "orderpulse/operators/enrichment.h"
#include "orderpulse/operators/window_aggregate.h"
#include "orderpulse/sink/result_sink.h"
#include "orderpulse/state/product_directory.h"

namespace orderpulse {

// Counters since start. read = accepted + rejected + late + duplicate, always.
struct EngineStats {
  std::uint64_t read = 0;
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t late = 0;
  std::uint64_t duplicate = 0;
  std::array<std::uint64_t, kDropReasonCount> by_reason{};
  std::uint64_t windows_emitted = 0;
  std::uint64_t batches = 0;
  TimestampMs first_event_time = kMaxTime;  // min over accepted records
  TimestampMs last_event_time = kMinTime;   // max over accepted records
  TimestampMs watermark = kMinTime;
};

// Everything that makes the engine's future output identical, taken at a batch boundary in
// microseconds (large state is shared copy-on-write, not copied) and encoded on another thread.
struct EngineSnapshot {
  EngineStats stats;
  SourceWatermarks watermarks{0};
  ProductDirectory::Frozen directory;
  Enrichment::Frozen sold;
  WindowAggregate::Frozen windows;
  DedupSet::Frozen dedup;
  TimestampMs dedup_min_time = kMinTime;  // keys older than this can never match again
  AlertState alerts;
};

class Engine {
 public:
  Engine(const Config& config, std::shared_ptr<const Catalog> catalog);

  void add_sink(ResultSink& sink) { sinks_.push_back(&sink); }

  // Processes one sealed micro-batch (parsing it unless that was done already, possibly on
  // another thread); the batch may be cleared and reused afterwards.
  void process(EventBatch& batch);
  // End of input: a watermark at +infinity finalizes every open window.
  void finish();
  // Live server: the injected wall clock (ms). Sources idle for longer than config.idle_timeout
  // stop holding the watermark back; when that lets it advance, windows are finalized now.
  void set_clock(TimestampMs now);
  const SourceWatermarks& watermarks() const { return watermarks_; }
  // Live server: a source that exists holds the watermark back before its first record.
  void announce_source(std::uint32_t source) { watermarks_.announce(source); }
  // Live server: a source gone from this server (a revoked Kafka partition) stops holding it back.
  void retire_source(std::uint32_t source) { watermarks_.retire(source); }
  // Live server, after each batch: the system-health rules judge what the serve loop measured;
  // their alerts go to the sinks like the data rules' (docs/alerts.md).
  void report_health(const HealthInputs& inputs, TimestampMs wall_now);
  // Alerts firing now, by rule and severity (data and health rules).
  DataAlerts::Counts firing_alerts() const;

  const EngineStats& stats() const { return stats_; }
  const WindowAggregate& windows() const { return windows_; }
  std::vector<WindowResult> open_windows() { return windows_.open_windows(); }
  const Enrichment& enrichment() const { return enrichment_; }
  const Config& config() const { return config_; }

  // Engine thread, between batches.
  EngineSnapshot snapshot();
  // Any thread: the snapshot's bytes (see docs/checkpoints.md for the layout).
  static void encode(const EngineSnapshot& snapshot, Encoder& out);
  // Restores encoded state into a fresh engine (no batch processed yet). Throws CodecError.
  void decode(Decoder& in);
  // Time spent copying shared state on write after snapshots.
  CowStats cow_stats() const {
    CowStats all = windows_.cow_stats();
    const CowStats& a = alerts_.cow_stats();
    all.pane_copies += a.pane_copies;
    all.pane_copy_seconds += a.pane_copy_seconds;
    all.longest_pane_copy_seconds = std::max(all.longest_pane_copy_seconds, a.longest_pane_copy_seconds);
    return all;
  }

 private:
  void advance(TimestampMs watermark);
  void deliver();

  Config config_;
  RecordParser parser_;
  SourceWatermarks watermarks_;
  ProductDirectory directory_;
  WindowAggregate windows_;
  Admission admission_;
  Enrichment enrichment_;
  DataAlerts alerts_;
  HealthAlerts health_;
  std::vector<Operator*> pipeline_;  // in event order: admission, enrichment, windows, alerts
  std::vector<ResultSink*> sinks_;
  Collector collector_;
  EngineStats stats_;
};

}  // namespace orderpulse
