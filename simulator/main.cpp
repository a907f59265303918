// orderpulse-sim: command-line front end only. Parses and validates arguments with CLI11, maps
// failures to exit codes (2: usage, 1: runtime) and hands the work to generator.cpp / olist.cpp.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "errors.h"
#include "generator.h"
#include "live.h"
#include "olist.h"
#include "orderpulse/common/cli.h"
#include "orderpulse/common/time.h"
#include "output.h"
#include "pacer.h"
#include "replay.h"
#include "sender.h"

namespace {

using namespace orderpulse;
using namespace orderpulse::sim;

constexpr const char* kProgram = "orderpulse-sim";

// Raw option texts: numbers and durations are parsed by us, not CLI11, because CLI11 accepts
// "-1" for unsigned options and reads "010" as octal.
struct GenerateArgs {
  std::string count, seed = "1", customers = "10000", products = "1000";
  std::string start_time = "2024-01-01T00:00:00Z", disorder = "5s", watermark_delay = "30s";
  std::string format, out, catalog_out, to, duration, connect_timeout = "30s";
  std::vector<std::string> kafka_properties;
  std::vector<std::string> bursts, drops, whales, sold_outs, restocks;
  double rate = 1000.0, late = 0.0, duplicates = 0.0, malformed = 0.0;
  CLI::App* cmd = nullptr;  // to ask which options were given
};

struct ReplayArgs {
  std::string in, to, rate = "max", connections = "1", connect_timeout = "30s";
  std::vector<std::string> kafka_properties;
};

// --kafka-property KEY=VALUE (repeatable), only with a kafka:// target.
KafkaProperties parse_kafka_properties(const std::vector<std::string>& texts, const Target& to) {
  KafkaProperties props;
  if (!texts.empty() && !to.kafka) throw UsageError("--kafka-property only applies with --to kafka://...");
  for (const std::string& t : texts) {
    const std::size_t eq = t.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--kafka-property must be KEY=VALUE, got '" + t + "'");
    props.emplace_back(t.substr(0, eq), t.substr(eq + 1));
  }
  return props;
}

std::uint64_t parse_positive(std::string_view option, const std::string& text, std::uint64_t max) {
  const std::uint64_t v = parse_count(option, text);
  if (v == 0 || v > max) {
    throw UsageError(std::string(option) + " must be between 1 and " + std::to_string(max));
  }
  return v;
}

GenerateOptions to_options(const GenerateArgs& a) {
  GenerateOptions o;
  o.count = a.count.empty() ? 0 : parse_count("--count", a.count);
  o.seed = parse_count("--seed", a.seed);
  o.customers = parse_positive("--customers", a.customers, 10'000'000);
  o.products = parse_positive("--products", a.products, 10'000'000);
  const auto start = parse_timestamp(a.start_time);
  if (!start) throw UsageError("--start-time must be ISO-8601 (2024-01-01T00:00:00Z) or epoch ms, got '" + a.start_time + "'");
  o.start_time = *start;
  // Written so that NaN fails too.
  if (!(a.rate > 0.0 && a.rate < 1e12)) throw UsageError("--rate must be a positive number of records per second");
  o.rate = a.rate;
  for (const auto& [name, value] : {std::pair{"--late", a.late}, {"--duplicates", a.duplicates}, {"--malformed", a.malformed}}) {
    if (!(value >= 0.0 && value <= 1.0)) throw UsageError(std::string(name) + " must be a fraction between 0 and 1");
  }
  o.disorder = parse_duration("--disorder", a.disorder);
  o.watermark_delay = parse_duration("--watermark-delay", a.watermark_delay);
  o.late = a.late;
  o.duplicates = a.duplicates;
  o.malformed = a.malformed;
  o.out = a.out;
  o.format = resolve_format(a.format, a.out);
  o.catalog_out = a.catalog_out;
  for (const auto& [kind, option, texts] :
       {std::tuple{ScenarioKind::burst, "--burst", &a.bursts}, {ScenarioKind::drop, "--drop", &a.drops},
        {ScenarioKind::whale, "--whale", &a.whales}, {ScenarioKind::sold_out, "--sold-out", &a.sold_outs},
        {ScenarioKind::restock, "--restock", &a.restocks}})
    for (const std::string& t : *texts) o.scenarios.push_back(parse_scenario(kind, option, t));
  return o;
}

// Exactly one of --out and --to; the options that only make sense with one of them.
void check_destination(GenerateArgs& a) {
  const auto given = [&](const char* name) { return a.cmd->count(name) > 0; };
  if (a.out.empty() == a.to.empty()) {
    throw UsageError(a.out.empty() ? "one of --out FILE or --to tcp://HOST:PORT|kafka://HOST:PORT/TOPIC is required"
                                   : "--out and --to are mutually exclusive");
  }
  if (a.to.empty()) {
    if (a.count.empty()) throw UsageError("--count is required with --out");
    for (const char* name : {"--duration", "--connect-timeout", "--kafka-property"}) {
      if (given(name)) throw UsageError(std::string(name) + " only applies with --to");
    }
    return;
  }
  if (!a.format.empty() && a.format != "ndjson") throw UsageError("--to sends NDJSON only (--format ndjson)");
  if (!given("--rate")) a.rate = 100.0;
}

LiveOptions to_live_options(const GenerateArgs& a) {
  LiveOptions l;
  l.to = parse_target(a.to);
  l.kafka = parse_kafka_properties(a.kafka_properties, l.to);
  l.file_times = a.cmd->count("--start-time") > 0;
  if (!a.count.empty()) l.count = parse_count("--count", a.count);
  if (!a.duration.empty()) l.duration = parse_duration("--duration", a.duration);
  l.connect_timeout = parse_duration("--connect-timeout", a.connect_timeout);
  return l;
}

ReplayOptions to_replay_options(const ReplayArgs& a) {
  ReplayOptions o;
  o.in = a.in;
  o.to = parse_target(a.to);
  o.kafka = parse_kafka_properties(a.kafka_properties, o.to);
  if (a.rate != "max") {
    char* end = nullptr;
    o.rate = std::strtod(a.rate.c_str(), &end);
    // Written so that NaN fails too.
    if (a.rate.empty() || *end != '\0' || !(o.rate > 0.0 && o.rate < 1e12)) {
      throw UsageError("--rate must be max or a positive number of lines per second, got '" + a.rate + "'");
    }
  }
  o.connections = static_cast<unsigned>(parse_positive("--connections", a.connections, 256));
  if (o.to.kafka && o.connections > 1) throw UsageError("--connections applies to tcp:// only (one producer feeds every partition)");
  o.connect_timeout = parse_duration("--connect-timeout", a.connect_timeout);
  return o;
}

void add_generate(CLI::App& app, GenerateArgs& a) {
  CLI::App* g = app.add_subcommand("generate", "Write a deterministic synthetic order-line stream, or send it live");
  a.cmd = g;
  g->add_option("--count", a.count, "Records to write, injected faults included (required with --out)")
      ->type_name("N");
  g->add_option("--out", a.out, "Output file, or - for stdout")->type_name("FILE");
  g->add_option("--to", a.to,
                "Send NDJSON live to the server or to a Kafka topic (one message per record, keyed by product_id) "
                "instead; event times from the wall clock unless --start-time is given")
      ->type_name("tcp://HOST:PORT|kafka://HOST:PORT[,..]/TOPIC");
  g->add_option("--duration", a.duration, "With --to: stop after this long (30s, 5m); default: --count or a signal")
      ->type_name("D");
  g->add_option("--connect-timeout", a.connect_timeout,
                "With --to: keep retrying to connect for this long (kafka://: also each record's delivery timeout)")
      ->type_name("D")
      ->capture_default_str();
  g->add_option("--kafka-property", a.kafka_properties, "With --to kafka://: a librdkafka producer property (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  g->add_option("--seed", a.seed, "PRNG seed; the same seed gives byte-identical output")
      ->type_name("N")
      ->capture_default_str();
  g->add_option("--customers", a.customers, "Distinct customers, Zipf-skewed (s=0.6)")
      ->type_name("N")
      ->capture_default_str();
  g->add_option("--products", a.products, "Distinct products, Zipf-skewed (s=1.1)")
      ->type_name("N")
      ->capture_default_str();
  g->add_option("--start-time", a.start_time,
                "Event time of the first record (ISO-8601 or epoch ms); with --to: send the records --out would write")
      ->type_name("TIME")
      ->capture_default_str();
  g->add_option("--rate", a.rate,
                "Records per second: of event time with --out (default 1000), of wall time with --to (default 100)")
      ->type_name("R");
  g->add_option("--disorder", a.disorder, "Each order's time is moved back by a random 0..D (500ms, 5s, 1m)")
      ->type_name("D")
      ->capture_default_str();
  g->add_option("--late", a.late, "Fraction of records injected as late (older than the watermark)")
      ->type_name("F")
      ->capture_default_str();
  g->add_option("--duplicates", a.duplicates, "Fraction of records that copy a recent valid record")
      ->type_name("F")
      ->capture_default_str();
  g->add_option("--malformed", a.malformed, "Fraction of records that are broken on purpose")
      ->type_name("F")
      ->capture_default_str();
  g->add_option("--watermark-delay", a.watermark_delay, "The engine's watermark delay, which late injection targets")
      ->type_name("D")
      ->capture_default_str();
  g->add_option("--format", a.format, "ndjson or csv (default: csv if --out ends in .csv, else ndjson)")
      ->type_name("FMT");
  g->add_option("--catalog-out", a.catalog_out, "Also write the product catalog CSV here")->type_name("FILE");
  // Scenarios (docs/alerts.md): AT is an offset of event time from --start-time (with --to and no
  // --start-time, from the first whole minute of sending). Each flag may be given more than once.
  g->add_option("--burst", a.bursts, "A sales burst: the rate times FACTOR (5) for LENGTH (1m) from AT")
      ->type_name("AT[:LENGTH[:FACTOR]]");
  g->add_option("--drop", a.drops, "A sales drop: the rate times FACTOR (0.1) for LENGTH (1m) from AT")
      ->type_name("AT[:LENGTH[:FACTOR]]");
  g->add_option("--whale", a.whales,
                "A whale customer: 60 orders within 10s from AT, the first worth 6000.00, the others 600.00 each")
      ->type_name("AT");
  g->add_option("--sold-out", a.sold_outs,
                "One order buys every unit left of a product (default: the least popular) at AT; use --catalog-out")
      ->type_name("AT[:PRODUCT_ID]");
  g->add_option("--restock", a.restocks, "A restock record at AT bringing the catalog's stock back (NDJSON only)")
      ->type_name("AT[:PRODUCT_ID]");
  g->footer(
      "Example: orderpulse-sim generate --count 1000000 --out events.ndjson --late 0.01 "
      "--duplicates 0.01 --malformed 0.005 --catalog-out catalog.csv\n"
      "Live: orderpulse-sim generate --to tcp://127.0.0.1:9000 --rate 1000 --duration 5m --late 0.01\n"
      "Kafka: orderpulse-sim generate --to kafka://127.0.0.1:9092/orders --rate 1000\n"
      "Alerts: orderpulse-sim generate --count 3000000 --rate 100 --out events.ndjson --catalog-out catalog.csv \\\n"
      "        --burst 20m --drop 40m --whale 25m --sold-out 30m --restock 50m\n"
      "A one-line JSON summary (records, orders, lines, late, duplicates, malformed by kind) goes to stderr;\n"
      "with --to: {\"sent\",\"bytes\",\"seconds\",\"rate\",\"reconnects\" (kafka://: \"failed\"),\"generated\":{that summary}}.");
}

void add_replay(CLI::App& app, ReplayArgs& a) {
  CLI::App* r = app.add_subcommand("replay", "Stream an NDJSON file's lines to the live server over TCP, or to a Kafka topic");
  r->add_option("--in", a.in, "The file; its lines are sent byte for byte, in order")->required()->type_name("FILE");
  r->add_option("--to", a.to, "The server's ingest address, or a Kafka topic (one message per line, keyed by product_id)")
      ->required()
      ->type_name("tcp://HOST:PORT|kafka://HOST:PORT[,..]/TOPIC");
  r->add_option("--rate", a.rate, "Lines per second over all connections, or max")
      ->type_name("R|max")
      ->capture_default_str();
  r->add_option("--connections", a.connections, "tcp://: split the file into K contiguous ranges sent concurrently")
      ->type_name("K")
      ->capture_default_str();
  r->add_option("--connect-timeout", a.connect_timeout,
                "Keep retrying to connect for this long (kafka://: also each record's delivery timeout)")
      ->type_name("D")
      ->capture_default_str();
  r->add_option("--kafka-property", a.kafka_properties, "With --to kafka://: a librdkafka producer property (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  r->footer(
      "With K > 1 each connection keeps its range's order, but the server sees the ranges interleaved.\n"
      "A one-line JSON summary {\"sent\",\"bytes\",\"seconds\",\"rate\",\"reconnects\"} goes to stderr\n"
      "(kafka://: \"failed\" instead of \"reconnects\"; sent counts records the brokers acknowledged).");
}

void add_olist(CLI::App& app, OlistOptions& o, std::string& format) {
  CLI::App* s = app.add_subcommand("olist", "Convert the Olist e-commerce dataset into events");
  s->add_option("--dir", o.dir, "Directory with olist_orders_dataset.csv and olist_order_items_dataset.csv")
      ->required()
      ->type_name("DIR");
  s->add_option("--out", o.out, "Output file, or - for stdout")->required()->type_name("FILE");
  s->add_option("--products", o.products, "Products CSV (default: DIR/olist_products_dataset.csv)")->type_name("FILE");
  s->add_option("--catalog-out", o.catalog_out,
                "Catalog CSV (default: catalog.csv next to --out, or in the current directory for -)")
      ->type_name("FILE");
  s->add_option("--format", format, "ndjson or csv (default: csv if --out ends in .csv, else ndjson)")
      ->type_name("FMT");
  s->footer(
      "One event per order item, sorted by purchase time. Unusable rows are counted by reason in a\n"
      "one-line JSON report on stderr, also written to OUT.report.json when --out is a file.\n"
      "Olist has no stock levels: the catalog's stock is synthesized as 100 + 2 x items sold.");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"orderpulse-sim: test data for orderpulse (synthetic streams, Olist conversion)", "orderpulse-sim"};
  app.require_subcommand(1);
  app.footer("Run 'orderpulse-sim <command> --help' for the options of each command.");
  GenerateArgs gen_args;
  ReplayArgs replay_args;
  OlistOptions olist_opts;
  std::string olist_format;
  add_generate(app, gen_args);
  add_replay(app, replay_args);
  add_olist(app, olist_opts, olist_format);
  if (auto code = cli_parse(app, kProgram, argc, argv)) return *code;
  try {
    if (app.got_subcommand("generate")) {
      check_destination(gen_args);
      if (gen_args.to.empty()) {
        const GenerateSummary summary = run_generate(to_options(gen_args));
        std::fprintf(stderr, "%s\n", summary.to_json().c_str());
      } else {
        const LiveOptions live = to_live_options(gen_args);
        const SendResult result = run_generate_live(to_options(gen_args), live);
        std::fprintf(stderr, "%s\n", result.summary.c_str());
        if (!result.losses.empty()) return cli_fail(kProgram, kExitRuntime, result.losses);
      }
    } else if (app.got_subcommand("replay")) {
      const ReplayOptions options = to_replay_options(replay_args);
      install_stop_handlers();
      const SendResult result = run_replay(options);
      std::fprintf(stderr, "%s\n", result.summary.c_str());
      if (!result.losses.empty()) return cli_fail(kProgram, kExitRuntime, result.losses);
    } else {
      olist_opts.format = resolve_format(olist_format, olist_opts.out);
      const std::string report = run_olist(olist_opts);
      std::fprintf(stderr, "%s\n", report.c_str());
    }
  } catch (const UsageError& e) {
    return cli_fail(kProgram, kExitUsage, std::string(e.what()) + " (see --help)");
  } catch (const std::exception& e) {  // RunFailure and anything unexpected
    return cli_fail(kProgram, kExitRuntime, e.what());
  }
  return 0;
}
