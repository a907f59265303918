#include "orderpulse/serve/metrics.h"

#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

namespace orderpulse {
namespace {

template <typename T, typename B>
T* add(B builder, std::shared_ptr<prometheus::Registry>& registry, const char* name, const char* help,
       const prometheus::Labels& labels = {}) {
  return &builder.Name(name).Help(help).Register(*registry).Add(labels);
}

double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

void advance(prometheus::Counter* c, std::uint64_t now, std::uint64_t& last) {
  if (now > last) c->Increment(static_cast<double>(now - last));
  last = now;
}

}  // namespace

ServerMetrics::ServerMetrics(const Config& config, const IngestProbe& ingest, const FeedProbe& feed,
                             const FollowProbe* follow, const KafkaProbe* kafka,
                             std::function<std::string(std::uint32_t)> source_name)
    : registry_(std::make_shared<prometheus::Registry>()),
      follow_(follow),
      ingest_(ingest),
      feed_(feed),
      kafka_(kafka),
      source_name_(std::move(source_name)) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  read_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_records_read_total", "Records read from every source");
  accepted_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_records_accepted_total", "Records accepted into windows");
  auto& dropped = BuildCounter()
                      .Name("orderpulse_records_dropped_total")
                      .Help("Records not accepted, by reason (rejections, late, duplicate)")
                      .Register(*registry_);
  for (std::size_t r = 1; r < kDropReasonCount; ++r)
    dropped_[r] = &dropped.Add({{"reason", std::string(to_string(static_cast<DropReason>(r)))}});
  batches_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_batches_total", "Micro-batches processed");
  batch_duration_ = &prometheus::BuildHistogram()
                         .Name("orderpulse_batch_duration_seconds")
                         .Help("Time the engine spent on one micro-batch")
                         .Register(*registry_)
                         .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                          0.1, 0.25, 0.5, 1, 2.5});
  watermark_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_watermark_timestamp_seconds",
                                      "Engine watermark as Unix time (0 before the first record)");
  watermark_lag_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_watermark_lag_seconds",
                                          "Wall clock minus the engine watermark");
  orders_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_orders_total", "Orders accepted (lines with line 1)");
  items_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_items_total", "Items accepted (sum of quantities)");
  revenue_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_revenue_total", "Revenue accepted, in currency units");
  windows_emitted_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_windows_emitted_total", "Final windows emitted");
  auto& wrev = BuildGauge().Name("orderpulse_window_revenue").Help("Revenue of the newest final window, per window spec, in currency units").Register(*registry_);
  auto& wcust = BuildGauge().Name("orderpulse_window_active_customers").Help("Distinct customers of the newest final window, per window spec").Register(*registry_);
  for (const auto& spec : config.windows) {
    spec_names_.push_back(spec.name);
    window_revenue_.push_back(&wrev.Add({{"window", spec.name}}));
    window_customers_.push_back(&wcust.Add({{"window", spec.name}}));
  }
  ws_clients_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_websocket_clients", "Connected WebSocket feed clients");
  ws_sent_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_websocket_messages_sent_total", "Feed messages sent");
  ws_slow_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_websocket_slow_disconnects_total",
                                      "Feed clients disconnected for falling too far behind");
  ingest_open_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_ingest_connections", "Open ingest connections");
  ingest_accepted_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_ingest_connections_accepted_total",
                                              "Ingest connections accepted");
  ingest_bytes_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_ingest_bytes_total", "Bytes read from ingest connections");
  busy_ratio_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_engine_busy_ratio",
                                       "Share of wall time the engine spent processing, over the last batch interval");
  queue_records_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_engine_queue_records",
                                          "Records received and waiting for the next micro-batch");
  memory_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_process_resident_memory_bytes",
                                   "Resident memory of the server process");
  alerts_total_family_ = &BuildCounter().Name("orderpulse_alerts_total").Help("Alerts fired (episodes started), by rule and severity").Register(*registry_);
  alerts_firing_family_ = &BuildGauge().Name("orderpulse_alerts_firing").Help("Alerts firing now, by rule and severity").Register(*registry_);
  {
    // Every rule with its configured severity from the start, at 0, so dashboards see the series.
    const AlertConfig& a = config.alerts;
    const std::pair<AlertRule, const AlertRuleConfig*> rules[] = {
        {AlertRule::low_inventory, &a.low_inventory},         {AlertRule::order_spike, &a.order_pattern},
        {AlertRule::order_drop, &a.order_pattern},            {AlertRule::revenue_spike, &a.order_pattern},
        {AlertRule::revenue_drop, &a.order_pattern},          {AlertRule::customer_burst, &a.customer_burst},
        {AlertRule::high_value_customer, &a.high_value_customer}, {AlertRule::high_value_order, &a.high_value_order},
        {AlertRule::batch_slow, &a.batch_slow},               {AlertRule::watermark_lag, &a.watermark_lag},
        {AlertRule::late_share, &a.late_share},               {AlertRule::rejected_share, &a.rejected_share},
        {AlertRule::kafka_lag, &a.kafka_lag},                 {AlertRule::checkpoint_age, &a.checkpoint_age},
        {AlertRule::kafka_broker_down, &a.kafka_broker_down}};
    for (const auto& [rule, rc] : rules)
      if (rc->enabled) alert_series(rule, rc->severity);
  }
  uncovered_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_records_not_checkpointed",
                                      "Records from sources that cannot replay (the socket) processed since the last "
                                      "durable checkpoint: lost if the server crashed now");
  if (follow_) {
    follow_bytes_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_follow_bytes_total", "Bytes read from followed files");
    follow_rotations_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_follow_rotations_total",
                                                 "Followed paths that came to name a new file (rotation)");
    follow_truncations_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_follow_truncations_total",
                                                   "Followed files that shrank below what was read (truncation)");
    auto& offsets = BuildGauge().Name("orderpulse_follow_offset_bytes").Help("Byte offset read so far, per followed file").Register(*registry_);
    for (const auto& path : follow_->paths) follow_offsets_.push_back(&offsets.Add({{"file", path}}));
  }
  holder_family_ = &BuildGauge()
                        .Name("orderpulse_watermark_holder")
                        .Help("1 for the source whose watermark is the engine's (the slowest one not idle)")
                        .Register(*registry_);
  idle_sources_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_sources_idle",
                                         "Sources idle longer than idle_timeout, not holding the watermark back");
  if (kafka_) {
    kafka_messages_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_kafka_messages_total", "Messages consumed");
    kafka_fetch_errors_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_kafka_fetch_errors_total",
                                                   "Errors reported by the Kafka client (fetch, transport)");
    kafka_rebalances_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_kafka_rebalances_total",
                                                 "Consumer group rebalances (assignments and revocations)");
    kafka_commits_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_kafka_commits_total",
                                              "Offset commits to the group (after a durable checkpoint)");
    kafka_commit_failures_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_kafka_commit_failures_total",
                                                      "Offset commits the group refused");
    kafka_assigned_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_kafka_assigned_partitions", "Partitions assigned to this server");
    kafka_up_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_kafka_broker_up", "1 while the brokers are reachable");
    kafka_paused_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_kafka_paused",
                                           "1 while partitions are paused because the engine is behind");
    kafka_lag_family_ = &BuildGauge()
                             .Name("orderpulse_kafka_consumer_lag")
                             .Help("Records in the partition not yet read (partition end minus position)")
                             .Register(*registry_);
  }
}

void ServerMetrics::checkpoints_enabled(double restore_seconds) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  const prometheus::Histogram::BucketBoundaries seconds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  checkpoints_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_checkpoints_total", "Checkpoints made durable");
  checkpoint_failures_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_checkpoint_failures_total",
                                                  "Checkpoints that could not be written (see the log)");
  checkpoint_duration_ = &prometheus::BuildHistogram()
                              .Name("orderpulse_checkpoint_duration_seconds")
                              .Help("Writer-thread time per checkpoint: encode, fsync of results, write, rename")
                              .Register(*registry_)
                              .Add({}, seconds);
  checkpoint_snapshot_ = &prometheus::BuildHistogram()
                              .Name("orderpulse_checkpoint_snapshot_seconds")
                              .Help("Engine-thread time to take a checkpoint's snapshot (ingest is not paused longer)")
                              .Register(*registry_)
                              .Add({}, seconds);
  checkpoint_size_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_checkpoint_size_bytes", "Size of the last checkpoint file");
  checkpoint_age_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_checkpoint_age_seconds",
                                           "Time since the last checkpoint became durable (since start when none yet)");
  checkpoint_batch_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_checkpoint_last_batch",
                                             "Batch id of the last durable checkpoint");
  restore_seconds_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_checkpoint_restore_seconds",
                                            "Time spent loading the checkpoint at start");
  cow_seconds_ = add<prometheus::Counter>(BuildCounter(), registry_, "orderpulse_checkpoint_copy_on_write_seconds_total",
                                          "Engine-thread time copying state still held by a checkpoint before changing it");
  cow_longest_ = add<prometheus::Gauge>(BuildGauge(), registry_, "orderpulse_checkpoint_copy_on_write_longest_seconds",
                                        "Longest single copy-on-write pause of the engine thread");
  restore_seconds_->Set(restore_seconds);
  checkpoint_wall_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
}

void ServerMetrics::record_checkpoint(const CheckpointDone& done) {
  checkpoints_->Increment();
  checkpoint_duration_->Observe(done.seconds);
  checkpoint_snapshot_->Observe(done.snapshot_seconds);
  checkpoint_size_->Set(static_cast<double>(done.bytes));
  checkpoint_batch_->Set(static_cast<double>(done.batch_id));
  covered_socket_records_ = done.socket_records;
  checkpoint_wall_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
}

void ServerMetrics::record_checkpoint_failure() { checkpoint_failures_->Increment(); }

std::pair<prometheus::Counter*, prometheus::Gauge*>& ServerMetrics::alert_series(AlertRule rule, AlertSeverity severity) {
  auto& s = alert_series_[{rule, severity}];
  if (!s.first) {
    const prometheus::Labels labels{{"rule", std::string(to_string(rule))}, {"severity", std::string(to_string(severity))}};
    s = {&alerts_total_family_->Add(labels), &alerts_firing_family_->Add(labels)};
  }
  return s;
}

void ServerMetrics::record_alerts(const std::vector<Alert>& alerts, const DataAlerts::Counts& firing) {
  for (const Alert& a : alerts)
    if (a.firing) alert_series(a.rule, a.severity).first->Increment();
  for (auto& [key, series] : alert_series_) series.second->Set(0);
  for (std::size_t r = 0; r < kAlertRuleCount; ++r)
    for (std::size_t s = 0; s < kAlertSeverityCount; ++s)
      if (firing[r][s] > 0) alert_series(static_cast<AlertRule>(r), static_cast<AlertSeverity>(s)).second->Set(static_cast<double>(firing[r][s]));
}

std::optional<double> ServerMetrics::checkpoint_age_seconds(TimestampMs wall_now) const {
  if (!checkpoint_age_) return std::nullopt;
  return static_cast<double>(wall_now - checkpoint_wall_ms_.load()) / 1000.0;
}

void ServerMetrics::record_batch(const Engine& engine, const std::vector<WindowResult>& final_windows,
                                 const BatchTiming& timing, TimestampMs wall_now, std::uint64_t socket_records) {
  const EngineStats& s = engine.stats();
  advance(read_, s.read, last_stats_.read);
  advance(accepted_, s.accepted, last_stats_.accepted);
  for (std::size_t r = 1; r < kDropReasonCount; ++r) advance(dropped_[r], s.by_reason[r], last_stats_.by_reason[r]);
  advance(windows_emitted_, s.windows_emitted, last_stats_.windows_emitted);
  if (s.batches > last_stats_.batches) {
    batches_->Increment(static_cast<double>(s.batches - last_stats_.batches));
    batch_duration_->Observe(timing.batch_seconds);
  }
  last_stats_.batches = s.batches;
  const Totals& t = engine.windows().totals();
  if (t.orders > last_orders_) orders_->Increment(static_cast<double>(t.orders - last_orders_));
  if (t.items > last_items_) items_->Increment(static_cast<double>(t.items - last_items_));
  if (t.revenue > last_revenue_) revenue_->Increment(static_cast<double>(t.revenue - last_revenue_) / 100.0);
  last_orders_ = t.orders;
  last_items_ = t.items;
  last_revenue_ = t.revenue;
  if (s.watermark != kMinTime && s.watermark != kMaxTime) {
    watermark_->Set(static_cast<double>(s.watermark) / 1000.0);
    watermark_lag_->Set(static_cast<double>(wall_now - s.watermark) / 1000.0);
  }
  for (const WindowResult& w : final_windows) {
    window_revenue_[w.spec]->Set(static_cast<double>(w.revenue) / 100.0);
    window_customers_[w.spec]->Set(static_cast<double>(w.active_customers));
  }
  if (timing.interval_seconds > 0) busy_ratio_->Set(std::min(1.0, timing.batch_seconds / timing.interval_seconds));
  queue_records_->Set(static_cast<double>(timing.queued_records));
  // Without checkpoints nothing from the socket is ever covered.
  uncovered_->Set(static_cast<double>(socket_records - std::min(socket_records, covered_socket_records_.load())));
  const SourceWatermarks& wms = engine.watermarks();
  const auto holder = wms.holding_source();
  if (holder != holder_source_) {
    if (holder_) holder_family_->Remove(holder_);
    holder_ = holder ? &holder_family_->Add({{"source", source_name_(*holder)}}) : nullptr;
    if (holder_) holder_->Set(1);
    holder_source_ = holder;
  }
  idle_sources_->Set(static_cast<double>(wms.idle_sources()));
  if (cow_seconds_) {
    const CowStats& cow = engine.cow_stats();
    if (cow.pane_copy_seconds > last_cow_seconds_) cow_seconds_->Increment(cow.pane_copy_seconds - last_cow_seconds_);
    last_cow_seconds_ = cow.pane_copy_seconds;
    cow_longest_->Set(cow.longest_pane_copy_seconds);
  }
}

std::string ServerMetrics::render() {
  ws_clients_->Set(static_cast<double>(feed_.clients.load()));
  advance(ws_sent_, feed_.messages_sent.load(), last_sent_);
  advance(ws_slow_, feed_.slow_disconnects.load(), last_slow_);
  ingest_open_->Set(static_cast<double>(ingest_.connections_open.load()));
  advance(ingest_accepted_, ingest_.connections_accepted.load(), last_conn_);
  advance(ingest_bytes_, ingest_.bytes.load(), last_bytes_);
  memory_->Set(resident_bytes());
  if (checkpoint_age_) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    checkpoint_age_->Set(static_cast<double>(now - checkpoint_wall_ms_.load()) / 1000.0);
  }
  if (kafka_) {
    advance(kafka_messages_, kafka_->messages.load(), last_kmsg_);
    advance(kafka_fetch_errors_, kafka_->fetch_errors.load(), last_kerr_);
    advance(kafka_rebalances_, kafka_->rebalances.load(), last_kreb_);
    advance(kafka_commits_, kafka_->commits.load(), last_kcom_);
    advance(kafka_commit_failures_, kafka_->commit_failures.load(), last_kcomf_);
    kafka_assigned_->Set(static_cast<double>(kafka_->assigned.load()));
    kafka_up_->Set(kafka_->broker_up.load() ? 1 : 0);
    kafka_paused_->Set(kafka_->paused.load() ? 1 : 0);
    for (const auto& [partition, lag] : kafka_->lag()) {
      auto& g = kafka_lag_[partition];
      if (!g) g = &kafka_lag_family_->Add({{"partition", std::to_string(partition)}});
      g->Set(lag.high < 0 ? 0 : static_cast<double>(lag.high - std::max<std::int64_t>(lag.position, 0)));
    }
  }
  if (follow_) {
    advance(follow_bytes_, follow_->bytes.load(), last_follow_bytes_);
    advance(follow_rotations_, follow_->rotations.load(), last_rotations_);
    advance(follow_truncations_, follow_->truncations.load(), last_truncations_);
    for (std::size_t i = 0; i < follow_offsets_.size(); ++i) follow_offsets_[i]->Set(static_cast<double>(follow_->offsets[i].load()));
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace orderpulse
