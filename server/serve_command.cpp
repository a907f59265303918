// `orderpulse serve`: wiring of the live server. Threads: the network thread runs the Asio
// io_context (ingest sockets, HTTP, WebSocket); the follow source reads files on its own; the parse
// stage parses the next batch; this thread runs the engine loop; the checkpoint writer writes
// checkpoints. They meet in the BatchBuilder (records in), through posts to the io_context (feed
// messages, resumes out) and in the Checkpointer (snapshots out).

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "orderpulse/common/cli.h"
#include "orderpulse/checkpoint/checkpointer.h"
#include "orderpulse/checkpoint/recovery.h"
#include "orderpulse/engine/batch_builder.h"
#include "orderpulse/engine/engine.h"
#include "orderpulse/engine/parse_stage.h"
#include "orderpulse/ingest/follow_source.h"
#include "orderpulse/ingest/kafka_source.h"
#include "orderpulse/ingest/socket_source.h"
#include "orderpulse/serve/http_server.h"
#include "orderpulse/serve/live_view.h"
#include "orderpulse/serve/metrics.h"
#include "orderpulse/sink/result_files.h"
#include "orderpulse/sink/summary.h"

namespace orderpulse {

extern const std::string_view kDashboardHtml;

namespace {

// Followed files are sources 1..N; the socket is source 0.
constexpr std::uint32_t kFirstFollowSource = SocketSource::kSourceId + 1;

TimestampMs wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

}  // namespace

int run_serve(const ServeOptions& opt) {
  Config config = opt.config_path.empty() ? Config::defaults() : Config::load_file(opt.config_path);
  if (!opt.checkpoint_interval.empty()) {
    config.checkpoint_interval = parse_duration(opt.checkpoint_interval);
    if (config.checkpoint_interval <= 0) throw ConfigError("--checkpoint-interval must be positive");
  }
  const bool use_kafka = !opt.kafka_topic.empty();
  if (!opt.kafka_brokers.empty() && !use_kafka) throw ConfigError("--kafka-brokers needs --kafka-topic");
  if (use_kafka && opt.kafka_brokers.empty() &&
      std::none_of(config.kafka.begin(), config.kafka.end(), [](const auto& kv) { return kv.first == "bootstrap.servers"; }))
    throw ConfigError("--kafka-topic needs --kafka-brokers (or kafka.bootstrap.servers in the config)");
  if (opt.exit_at_eof && opt.follow.empty() && !use_kafka)
    throw ConfigError("--exit-at-eof needs a --follow file or a Kafka topic");
  if (opt.reset_state && opt.checkpoint_dir.empty()) throw ConfigError("--reset-state needs --checkpoint-dir");
  const tcp::endpoint ingest_ep = parse_endpoint(opt.ingest, "--ingest");
  const tcp::endpoint http_ep = parse_endpoint(opt.http, "--http");
  std::shared_ptr<const Catalog> catalog;
  if (!opt.catalog_path.empty()) catalog = std::make_shared<const Catalog>(Catalog::load_csv(opt.catalog_path));
  const std::uint64_t catalog_fingerprint = catalog ? catalog->fingerprint() : 0;

  // State first: the newest usable checkpoint, or a fresh engine.
  Settings settings = config.result_settings();
  settings.emplace_back("follow", join(opt.follow));  // source ids follow this order
  settings.emplace_back("kafka_topic", opt.kafka_topic);
  auto make_engine = [&] { return std::make_unique<Engine>(config, catalog); };
  std::unique_ptr<CheckpointStore> store;
  Recovered recovered;
  if (!opt.checkpoint_dir.empty()) {
    store = std::make_unique<CheckpointStore>(opt.checkpoint_dir, 3);
    if (opt.reset_state) {
      store->remove_all();
      spdlog::warn("--reset-state: removed the checkpoints in {}", opt.checkpoint_dir);
    }
    const bool had_checkpoints = !store->list().empty();
    recovered = recover(*store, settings, make_engine);
    if (!recovered.meta && had_checkpoints)
      spdlog::error("no usable checkpoint in {}: starting from the beginning", opt.checkpoint_dir);
    if (recovered.meta && recovered.meta->catalog_fingerprint != catalog_fingerprint)
      spdlog::warn("the product catalog differs from the one the checkpoint was made with; new records use the new one");
  } else {
    recovered.engine = make_engine();
  }
  Engine& engine = *recovered.engine;

  asio::io_context io(1);
  IngestProbe ingest_probe;
  FeedProbe feed_probe;
  FollowProbe follow_probe(opt.follow);
  KafkaProbe kafka_probe;
  BatchBuilder builder(config.max_batch_size);
  FeedHub hub(io, feed_probe);
  ResultFiles files(opt.output_dir, /*flush_every_batch=*/true, recovered.meta ? &recovered.meta->outputs : nullptr);
  LiveView live(config, hub);
  engine.add_sink(files);
  engine.add_sink(live);
  std::unique_ptr<KafkaSource> kafka;  // created below, once its end-of-input hook can be wired
  auto source_name = [&](std::uint32_t id) -> std::string {
    if (KafkaSource::is_kafka_source(id)) return kafka ? kafka->source_name(id) : "kafka:" + std::to_string(id);
    if (id >= kFirstFollowSource && id - kFirstFollowSource < opt.follow.size()) return opt.follow[id - kFirstFollowSource];
    return "socket";
  };
  live.set_source_names(source_name);
  ServerMetrics metrics(config, ingest_probe, feed_probe, opt.follow.empty() ? nullptr : &follow_probe,
                        use_kafka ? &kafka_probe : nullptr, source_name);
  std::atomic<bool> ready{false};
  std::atomic<bool> eof_reached{false};

  std::unique_ptr<SocketSource> ingest;
  std::unique_ptr<HttpServer> http;
  try {
    ingest = std::make_unique<SocketSource>(io, ingest_ep, builder, config.max_line_bytes, ingest_probe);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen for ingest on " + to_string(ingest_ep) + ": " + e.code().message());
  }
  try {
    http = std::make_unique<HttpServer>(
        io, http_ep, hub,
        HttpRoutes{kDashboardHtml, [&metrics] { return metrics.render(); }, [&live] { return live.snapshot(); },
                   [&] { return ready.load() && (!kafka || kafka_probe.broker_up.load()); }});
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen for http on " + to_string(http_ep) + ": " + e.code().message());
  }

  // Stops intake: sockets, files, then the builder, posted after the aborted socket reads so their
  // last lines are in. Network thread.
  std::unique_ptr<FollowSource> follow;
  auto stop_intake = [&] {
    ingest->stop();
    if (follow) follow->stop();
    if (kafka) kafka->stop();
    asio::post(io, [&] { builder.close(); });
  };
  std::map<std::uint32_t, SourcePosition> positions;
  // --exit-at-eof: when every finite source (the followed files, the Kafka partitions) is read to
  // its end, intake stops and the stream finishes.
  const int finite_sources = (opt.follow.empty() ? 0 : 1) + (use_kafka ? 1 : 0);
  std::atomic<int> finished_sources{0};
  auto source_done = [&] {
    if (++finished_sources < finite_sources) return;
    eof_reached = true;
    spdlog::info("every source read to its end: finishing");
    asio::post(io, stop_intake);
  };
  if (use_kafka) {
    KafkaOptions ko;
    ko.brokers = opt.kafka_brokers;
    ko.topic = opt.kafka_topic;
    ko.group = opt.kafka_group;
    ko.properties = config.kafka;
    ko.max_record_bytes = config.max_line_bytes;
    ko.stop_at_eof = opt.exit_at_eof;
    ko.on_done = source_done;
    kafka = std::make_unique<KafkaSource>(std::move(ko), builder, kafka_probe);
  }
  if (!opt.follow.empty()) {
    FollowOptions fo;
    fo.stop_at_eof = opt.exit_at_eof;
    fo.on_done = source_done;
    follow = std::make_unique<FollowSource>(opt.follow, std::nullopt, config.max_line_bytes, kFirstFollowSource, builder,
                                            follow_probe, std::move(fo));
    if (recovered.meta) {
      std::vector<SourcePosition> saved;
      for (const SourceCheckpoint& s : recovered.meta->sources) saved.push_back(s.position);
      follow->seek(saved);
    }
    for (const SourcePosition& p : follow->initial_positions()) positions[p.source_id] = p;
  }
  if (kafka && recovered.meta) {
    std::vector<SourcePosition> saved;
    for (const SourceCheckpoint& s : recovered.meta->sources) saved.push_back(s.position);
    kafka->seek(saved);
    for (const SourcePosition& p : saved)
      if (KafkaSource::is_kafka_source(p.source_id)) positions[p.source_id] = p;
  }

  std::unique_ptr<Checkpointer> checkpointer;
  if (store) {
    metrics.checkpoints_enabled(recovered.seconds);
    checkpointer = std::make_unique<Checkpointer>(
        *store,
        [&](const CheckpointDone& d) {
          metrics.record_checkpoint(d);
          if (kafka) kafka->commit(d.positions);
        },
        [&metrics](const std::string&) { metrics.record_checkpoint_failure(); });
  }

  builder.set_on_space([&] { asio::post(io, [&] { ingest->resume(); }); });
  // A real snapshot (server time, configured windows) before anyone can connect.
  live.after_batch(engine, wall_clock_ms(), true);
  ingest->start();
  http->start();
  if (follow) follow->start();
  if (kafka) kafka->start();
  spdlog::info("ingest listening on {}", to_string(ingest->local_endpoint()));
  spdlog::info("http listening on {}", to_string(http->local_endpoint()));
  for (const auto& path : opt.follow) spdlog::info("following {}", path);
  if (kafka) spdlog::info("consuming kafka topic {} as group {}", opt.kafka_topic, opt.kafka_group);
  if (store) spdlog::info("checkpoints in {} every {}", opt.checkpoint_dir, format_duration(config.checkpoint_interval));
  spdlog::info("output in {}", opt.output_dir);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: stopping", signal);
    stop_intake();
  });
  std::thread network([&] { io.run(); });
  ready = true;

  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  std::uint64_t socket_records = 0;  // processed from sources that cannot replay
  auto last_checkpoint = started;
  std::uint64_t checkpointed_batches = engine.stats().batches;
  bool positions_moved = false;
  // At a batch boundary: hands a snapshot to the writer when one is due and something changed. A
  // busy writer means try again after the next batch.
  auto maybe_checkpoint = [&](bool final) {
    if (!checkpointer) return;
    const auto now = Clock::now();
    if (!final && now - last_checkpoint < std::chrono::milliseconds(config.checkpoint_interval)) return;
    if (!final && engine.stats().batches == checkpointed_batches && !positions_moved) return;
    if (checkpointer->busy()) return;
    CheckpointJob job;
    job.batch_id = engine.stats().batches;
    job.engine = engine.snapshot();
    job.meta.settings = settings;
    for (const auto& [id, p] : positions) job.meta.sources.push_back({source_name(id), p});
    job.meta.outputs = files.marks();
    job.meta.catalog_fingerprint = catalog_fingerprint;
    job.sync_fds = files.fds();
    job.socket_records = socket_records;
    job.snapshot_seconds = std::chrono::duration<double>(Clock::now() - now).count();
    checkpointer->submit(std::move(job));
    last_checkpoint = now;
    checkpointed_batches = engine.stats().batches;
    positions_moved = false;
  };

  // Without checkpoints the group's offsets follow what has been processed (for lag tools): every
  // second while running, and once more on the way out.
  auto commit_processed = [&] {
    std::vector<SourcePosition> now_at;
    for (const auto& [id, p] : positions) now_at.push_back(p);
    kafka->commit(now_at);
  };

  // The engine loop. The parse stage's thread takes a batch from the builder every trigger
  // interval (or as soon as it is full) and parses it while this thread runs the operators on the
  // previous one. Empty batches still come through: they are the ticks that refresh the feed.
  const auto trigger = std::chrono::milliseconds(config.trigger_interval);
  auto last_take = started;
  auto last_start = started;
  auto last_publish = started;
  auto last_commit = started;
  // The brokers count as down for the alert only once they have answered, or after a grace period
  // for the first contact (the first metadata round trip takes a moment at every start).
  bool kafka_seen_up = false;
  std::vector<std::int32_t> kafka_assigned;  // the last non-empty assignment, sorted
  constexpr auto kFirstContactGrace = std::chrono::seconds(30);
  std::exception_ptr failure;
  try {
    ParseStage stage([&](std::unique_ptr<EventBatch>& b) {
      b = builder.take(last_take + trigger, std::move(b));
      last_take = Clock::now();
      return !(b->empty() && b->positions().empty() && builder.closed());
    }, /*depth=*/2);
    while (auto batch = stage.next()) {
      const auto start = Clock::now();
      const double interval = std::chrono::duration<double>(start - last_start).count();
      last_start = start;
      const bool had_records = !batch->empty();
      const TimestampMs watermark_before = engine.stats().watermark;
      const EngineStats stats_before = engine.stats();
      engine.set_clock(wall_clock_ms());  // an idle source may let the watermark move on its own
      // Every source that exists holds the watermark back, records or not (until idle).
      for (const SourcePosition& p : batch->positions()) engine.announce_source(p.source_id);
      if (use_kafka) {
        // A rebalance revokes every partition, then assigns the new set. Partitions that were ours
        // and are not in it stop holding the watermark back now rather than after idle_timeout.
        // An empty set (between the two, or a member with no partitions) retires nothing: until
        // the next assignment the watermark stays where the old one left it.
        std::vector<std::int32_t> assigned = kafka_probe.partitions();
        if (!assigned.empty() && assigned != kafka_assigned) {
          for (std::int32_t p : kafka_assigned)
            if (!std::binary_search(assigned.begin(), assigned.end(), p))
              engine.retire_source(KafkaSource::kFirstSourceId + static_cast<std::uint32_t>(p));
          kafka_assigned = std::move(assigned);
        }
        for (std::int32_t p : kafka_assigned)
          engine.announce_source(KafkaSource::kFirstSourceId + static_cast<std::uint32_t>(p));
      }
      for (std::size_t i = 0; i < batch->size(); ++i)
        socket_records += batch->record(i).origin->source_id == SocketSource::kSourceId;
      if (had_records) engine.process(*batch);
      for (const SourcePosition& p : batch->positions()) {
        SourcePosition& held = positions[p.source_id];
        if (held != p) positions_moved = true;
        held = p;
      }
      const auto done = Clock::now();
      const TimestampMs now_ms = wall_clock_ms();
      const bool changed = had_records || engine.stats().watermark != watermark_before ||
                           done - last_publish >= std::chrono::seconds(1);
      {
        // System health: what this loop measured, judged by the engine's health rules.
        const EngineStats& s = engine.stats();
        HealthInputs h;
        h.batch_seconds = std::chrono::duration<double>(done - start).count();
        h.trigger_seconds = static_cast<double>(config.trigger_interval) / 1000.0;
        h.batch_records = s.read - stats_before.read;
        h.batch_late = s.late - stats_before.late;
        h.batch_rejected = s.rejected - stats_before.rejected;
        if (s.watermark != kMinTime && s.watermark != kMaxTime) h.watermark_lag_seconds = static_cast<double>(now_ms - s.watermark) / 1000.0;
        if (kafka) {
          std::int64_t lag = 0;
          for (const auto& [partition, l] : kafka_probe.lag()) lag += l.high < 0 ? 0 : l.high - std::max<std::int64_t>(l.position, 0);
          h.kafka_lag = lag;
          const bool up = kafka_probe.broker_up.load();
          kafka_seen_up = kafka_seen_up || up;
          if (kafka_seen_up || done - started >= kFirstContactGrace) h.kafka_brokers_up = up;
        }
        h.checkpoint_age_seconds = metrics.checkpoint_age_seconds(now_ms);
        engine.report_health(h, now_ms);
      }
      metrics.record_batch(engine, live.batch_windows(),
                           BatchTiming{std::chrono::duration<double>(done - start).count(), interval, builder.pending()},
                           now_ms, socket_records);
      metrics.record_alerts(live.batch_alerts(), engine.firing_alerts());
      live.after_batch(engine, now_ms, changed);
      if (changed) last_publish = done;
      stage.recycle(std::move(batch));
      maybe_checkpoint(false);
      if (kafka && !checkpointer && positions_moved && done - last_commit >= std::chrono::seconds(1)) {
        commit_processed();
        last_commit = done;
        positions_moved = false;
      }
    }
  } catch (...) {
    failure = std::current_exception();
    builder.close();
  }

  ready = false;
  asio::post(io, [&] {
    ingest->stop();
    if (follow) follow->stop();
    if (kafka) kafka->stop();
    http->stop();
    hub.close_all();
    signals.cancel();
  });
  network.join();
  if (failure) {
    if (checkpointer) checkpointer->wait_idle();
    if (kafka && !kafka->close()) {
      // The consumer was abandoned (see below): librdkafka's threads may still call into objects
      // the unwinding would destroy. Report the failure as main would and end here.
      std::string what = "unknown failure";
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      cli_fail("orderpulse", kExitRuntime, what);
      std::fflush(nullptr);
      std::_Exit(kExitRuntime);
    }
    std::rethrow_exception(failure);
  }
  // End of input for good: every open window becomes final, as in batch mode.
  if (eof_reached) engine.finish();
  files.flush();
  if (checkpointer) {
    checkpointer->wait_idle();
    maybe_checkpoint(true);
    if (!checkpointer->wait_idle()) spdlog::error("the final checkpoint could not be written; a restart resumes from the previous one");
  }
  write_summary(opt.output_dir + "/summary.json",
                make_summary(engine, RunInfo{std::chrono::duration<double>(Clock::now() - started).count(),
                                             ingest_probe.blank_lines.load() + follow_probe.blank_lines.load(),
                                             ingest_probe.bytes.load() + follow_probe.bytes.load()}));
  const EngineStats& s = engine.stats();
  spdlog::info("stopped: {} read, {} accepted, {} rejected, {} late, {} duplicate, {} windows", s.read, s.accepted,
               s.rejected, s.late, s.duplicate, s.windows_emitted);
  if (kafka && !checkpointer) commit_processed();
  if (kafka && !kafka->close()) {
    // The consumer was abandoned mid-close and librdkafka's threads still call into it: exit
    // without destructors. Everything the run produced is written and flushed by now.
    std::fflush(nullptr);
    std::_Exit(0);
  }
  return 0;
}

}  // namespace orderpulse
