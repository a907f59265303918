// The `orderpulse` binary: argument parsing and error reporting around the subcommands.
// Exit codes: 0 success, 1 runtime failure, 2 usage or config error (one line on stderr).

#include <CLI/CLI.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "commands.h"
#include "orderpulse/common/cli.h"
#include "orderpulse/config/config.h"


int main(int argc, char** argv) {
  using namespace orderpulse;
  // Logs go to stderr (stdout stays free for data), flushed per line so supervisors see them.
  spdlog::set_default_logger(spdlog::stderr_color_mt("orderpulse"));
  spdlog::flush_on(spdlog::level::info);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  // SPDLOG_LEVEL=debug turns on the debug lines (librdkafka's own log among them).
  spdlog::cfg::load_env_levels();
  CLI::App app{"orderpulse: a stream processor for e-commerce order events"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "orderpulse 0.1.0");

  BatchOptions batch;
  std::string format;
  CLI::App* batch_cmd = app.add_subcommand("batch", "Replay files through the operators and write the results");
  batch_cmd->add_option("-i,--input", batch.inputs, "Input file, NDJSON or CSV by extension; '-' for stdin; repeatable, read in order")->check(kNonEmptyPath)->required();
  batch_cmd->add_option("-o,--output-dir", batch.output_dir, "Directory for windows.jsonl, dropped.jsonl, summary.json")->check(kNonEmptyPath)->required();
  batch_cmd->add_option("-c,--config", batch.config_path, "JSON config file (defaults built in)")->check(kNonEmptyPath);
  batch_cmd->add_option("--catalog", batch.catalog_path, "Product catalog CSV: product_id,category,stock,reorder_level")->check(kNonEmptyPath);
  batch_cmd->add_option("--format", format, "Force the input format")->check(CLI::IsMember({"ndjson", "csv"}));
  batch_cmd->add_option("--batch-size", batch.batch_size, "Records per micro-batch (config max_batch_size)")->check(CLI::Range(1, 10'000'000));
  batch_cmd->add_option("--threads", batch.threads, "1: read, parse and aggregate on one thread; 2: parse on a second one (default: 2 when the process may use two CPUs)")->check(CLI::Range(1, 2));
  batch_cmd->add_flag("-q,--quiet", batch.quiet, "No progress bar or closing line");

  ServeOptions serve;
  CLI::App* serve_cmd = app.add_subcommand("serve", "Run the live server: TCP ingest, dashboard, WebSocket feed, /metrics");
  serve_cmd->add_option("-c,--config", serve.config_path, "JSON config file (defaults built in)")->check(kNonEmptyPath);
  serve_cmd->add_option("--catalog", serve.catalog_path, "Product catalog CSV: product_id,category,stock,reorder_level")->check(kNonEmptyPath);
  serve_cmd->add_option("--ingest", serve.ingest, "NDJSON ingest address HOST:PORT (port 0: any free port)")->capture_default_str();
  serve_cmd->add_option("--http", serve.http, "HTTP address HOST:PORT for /, /ws, /metrics (port 0: any free port)")->capture_default_str();
  serve_cmd->add_option("-o,--output-dir", serve.output_dir, "Directory for windows.jsonl, dropped.jsonl, summary.json")->check(kNonEmptyPath)->capture_default_str();
  serve_cmd->add_option("--follow", serve.follow, "Follow a growing NDJSON or CSV file like tail -F (repeatable; each is its own source)")->check(kNonEmptyPath);
  serve_cmd->add_option("--checkpoint-dir", serve.checkpoint_dir, "Write checkpoints here and resume from the newest on start")->check(kNonEmptyPath);
  serve_cmd->add_option("--checkpoint-interval", serve.checkpoint_interval, "Time between checkpoints, e.g. 10s (config key checkpoint_interval)");
  serve_cmd->add_flag("--reset-state", serve.reset_state, "Discard the checkpoints in --checkpoint-dir and start from scratch");
  serve_cmd->add_flag("--exit-at-eof", serve.exit_at_eof,
                      "Read the --follow files and Kafka partitions to their end, finalize every window, checkpoint and exit");
  serve_cmd->add_option("--kafka-brokers", serve.kafka_brokers, "Kafka bootstrap servers HOST:PORT[,HOST:PORT...]");
  serve_cmd->add_option("--kafka-topic", serve.kafka_topic, "Kafka topic to consume (each partition is its own source)");
  serve_cmd->add_option("--kafka-group", serve.kafka_group, "Kafka consumer group")->capture_default_str();

  if (auto code = cli_parse(app, "orderpulse", argc, argv)) return *code;

  try {
    if (batch_cmd->parsed()) {
      if (!format.empty()) batch.format = format == "csv" ? InputFormat::csv : InputFormat::ndjson;
      return run_batch(batch);
    }
    if (serve_cmd->parsed()) return run_serve(serve);
  } catch (const ConfigError& e) {
    return cli_fail("orderpulse", kExitUsage, e.what());
  } catch (const std::exception& e) {
    return cli_fail("orderpulse", kExitRuntime, e.what());
  }
  return 0;
}
