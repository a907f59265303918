// `orderpulse serve`: wiring of the live server. Two threads: the network thread runs the Asio
// io_context (ingest sockets, HTTP, WebSocket); this thread runs the engine loop. They meet in the
// BatchBuilder (records in) and through posts to the io_context (feed messages, resumes out).

#include <chrono>
#include <csignal>
#include <thread>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "orderpulse/engine/batch_builder.h"
#include "orderpulse/engine/engine.h"
#include "orderpulse/engine/parse_stage.h"
#include "orderpulse/ingest/socket_source.h"
#include "orderpulse/serve/http_server.h"
#include "orderpulse/serve/live_view.h"
#include "orderpulse/serve/metrics.h"
#include "orderpulse/sink/result_files.h"
#include "orderpulse/sink/summary.h"

namespace orderpulse {

extern const std::string_view kDashboardHtml;

namespace {

TimestampMs wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

int run_serve(const ServeOptions& opt) {
  const Config config = opt.config_path.empty() ? Config::defaults() : Config::load_file(opt.config_path);
  const tcp::endpoint ingest_ep = parse_endpoint(opt.ingest, "--ingest");
  const tcp::endpoint http_ep = parse_endpoint(opt.http, "--http");
  std::shared_ptr<const Catalog> catalog;
  if (!opt.catalog_path.empty()) catalog = std::make_shared<const Catalog>(Catalog::load_csv(opt.catalog_path));

  asio::io_context io(1);
  IngestProbe ingest_probe;
  FeedProbe feed_probe;
  BatchBuilder builder(config.max_batch_size);
  FeedHub hub(io, feed_probe);
  Engine engine(config, catalog);
  ResultFiles files(opt.output_dir, /*flush_every_batch=*/true);
  LiveView live(config, hub);
  engine.add_sink(files);
  engine.add_sink(live);
  ServerMetrics metrics(config, ingest_probe, feed_probe);
  std::atomic<bool> ready{false};

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
                   [&ready] { return ready.load(); }});
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen for http on " + to_string(http_ep) + ": " + e.code().message());
  }
  builder.set_on_space([&] { asio::post(io, [&] { ingest->resume(); }); });
  // A real snapshot (server time, configured windows) before anyone can connect.
  live.after_batch(engine, wall_clock_ms(), true);
  ingest->start();
  http->start();
  spdlog::info("ingest listening on {}", to_string(ingest->local_endpoint()));
  spdlog::info("http listening on {}", to_string(http->local_endpoint()));
  spdlog::info("output in {}", opt.output_dir);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: stopping", signal);
    ingest->stop();
    // Posted after the aborted reads of the closed connections, so their last lines are in.
    asio::post(io, [&] { builder.close(); });
  });
  std::thread network([&] { io.run(); });
  ready = true;

  // The engine loop. The parse stage's thread takes a batch from the builder every trigger
  // interval (or as soon as it is full) and parses it while this thread runs the operators on the
  // previous one. Empty batches still come through: they are the ticks that refresh the feed.
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const auto trigger = std::chrono::milliseconds(config.trigger_interval);
  auto last_take = started;
  auto last_start = started;
  auto last_publish = started;
  std::exception_ptr failure;
  try {
    ParseStage stage([&](std::unique_ptr<EventBatch>& b) {
      b = builder.take(last_take + trigger, std::move(b));
      last_take = Clock::now();
      return !(b->empty() && builder.closed());
    }, /*depth=*/2);
    while (auto batch = stage.next()) {
      const auto start = Clock::now();
      const double interval = std::chrono::duration<double>(start - last_start).count();
      last_start = start;
      const bool had_records = !batch->empty();
      if (had_records) engine.process(*batch);
      const auto done = Clock::now();
      const TimestampMs now_ms = wall_clock_ms();
      const bool changed = had_records || done - last_publish >= std::chrono::seconds(1);
      metrics.record_batch(engine, live.batch_windows(),
                           BatchTiming{std::chrono::duration<double>(done - start).count(), interval, builder.pending()},
                           now_ms);
      live.after_batch(engine, now_ms, changed);
      if (changed) last_publish = done;
      stage.recycle(std::move(batch));
    }
  } catch (...) {
    failure = std::current_exception();
    builder.close();
  }

  ready = false;
  asio::post(io, [&] {
    ingest->stop();
    http->stop();
    hub.close_all();
    signals.cancel();
  });
  network.join();
  if (failure) std::rethrow_exception(failure);
  files.flush();
  write_summary(opt.output_dir + "/summary.json",
                make_summary(engine, RunInfo{std::chrono::duration<double>(Clock::now() - started).count(),
                                             ingest_probe.blank_lines.load(), ingest_probe.bytes.load()}));
  const EngineStats& s = engine.stats();
  spdlog::info("stopped: {} read, {} accepted, {} rejected, {} late, {} duplicate, {} windows", s.read, s.accepted,
               s.rejected, s.late, s.duplicate, s.windows_emitted);
  return 0;
}

}  // namespace orderpulse
