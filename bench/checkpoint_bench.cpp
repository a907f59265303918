// Checkpoint costs with a large state: 1M distinct products and 1M distinct customers in open
// windows (2M order lines over nine minutes of event time, so every pane is still needed by the
// 10-minute window). Measures, in one process and one run:
//   - checkpoint size and writer time (encode, write, fsync, rename),
//   - the engine pause a checkpoint causes: the snapshot itself, and the copy-on-write of the pane
//     that the next batch writes to,
//   - restore time from the file,
//   - engine throughput with a checkpoint every second against none (median of `runs`).
// Prints a table and, with --json FILE, the figures as JSON.
//
//   build/release/bench/checkpoint_bench [--records 2000000] [--runs 3] [--dir /tmp/x] [--json out.json]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "orderpulse/checkpoint/checkpointer.h"
#include "orderpulse/checkpoint/recovery.h"
#include "orderpulse/engine/engine.h"
#include "orderpulse/ingest/file_source.h"

using namespace orderpulse;
using Clock = std::chrono::steady_clock;

namespace {

constexpr TimestampMs kStart = 1'714'550'400'000;  // 2024-05-01T08:00:00Z
constexpr std::size_t kBatch = 65'536;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Record i: product and customer i % distinct, event times rising over nine minutes.
std::vector<std::string> make_records(std::size_t n, std::size_t distinct, TimestampMs span) {
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const TimestampMs t = kStart + static_cast<TimestampMs>(static_cast<double>(i) / static_cast<double>(n) * static_cast<double>(span));
    out.push_back(fmt::format(R"({{"order_id":"o{}","customer_id":"c{:07}","product_id":"p{:07}","category":"cat{}","quantity":{},"unit_price":"{}.{:02}","event_time":{}}})",
                              i, (i * 7919) % distinct, i % distinct, i % 40, 1 + i % 3, 1 + i % 500, i % 100, t));
  }
  return out;
}

struct Feed {
  const std::vector<std::string>& records;
  RecordOrigin origin{0, "bench", "file", "memory"};
  std::size_t next = 0;
  bool fill(EventBatch& b) {
    b.clear();
    for (std::size_t k = 0; k < kBatch && next < records.size(); ++k, ++next)
      b.add(records[next], next + 1, &origin, RecordFormat{});
    b.seal();
    return b.size() > 0;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::size_t records = 2'000'000, runs = 3;
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "orderpulse-checkpoint-bench";
  std::string json_out;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--records") records = std::stoul(argv[i + 1]);
    else if (a == "--runs") runs = std::stoul(argv[i + 1]);
    else if (a == "--dir") dir = argv[i + 1];
    else if (a == "--json") json_out = argv[i + 1];
  }
  const std::size_t distinct = records / 2;
  const Config config = Config::defaults();
  std::filesystem::remove_all(dir);
  const auto records_text = make_records(records, distinct, 9 * 60'000);
  auto make_engine = [&] { return std::make_unique<Engine>(config, nullptr); };

  // 1. Fill the state, then one checkpoint through the real writer.
  auto engine = make_engine();
  {
    Feed feed{records_text};
    EventBatch b;
    while (feed.fill(b)) engine->process(b);
  }
  CheckpointStore store(dir / "ckpt", 3);
  CheckpointDone done{};
  Checkpointer writer(store, [&](const CheckpointDone& d) { done = d; }, [](const std::string& e) { std::fprintf(stderr, "%s\n", e.c_str()); });
  std::vector<double> snapshots;
  const auto s0 = Clock::now();
  CheckpointJob job;
  job.batch_id = engine->stats().batches;
  job.engine = engine->snapshot();
  job.meta.settings = config.result_settings();
  snapshots.push_back(seconds_since(s0));
  job.snapshot_seconds = snapshots.back();
  writer.submit(std::move(job));
  writer.wait_idle();

  // 2. The copy-on-write after it: a batch into the newest pane, timed against the same batch
  // without a snapshot before it.
  auto extra = make_records(kBatch, distinct, 1);
  for (auto& r : extra) r[r.find(":\"o") + 2] = 'x';  // new order ids: not duplicates
  std::vector<std::string> tail(extra.begin(), extra.end());
  for (std::string& r : tail) {
    const auto pos = r.rfind(':');
    r = r.substr(0, pos + 1) + std::to_string(kStart + 9 * 60'000 - 1) + "}";
  }
  double cow_batch = 0, plain_batch = 0;
  {
    Feed feed{tail};
    EventBatch b;
    feed.fill(b);
    const auto t = Clock::now();
    engine->process(b);
    cow_batch = seconds_since(t);
    for (auto& r : tail) r[r.find(":\"x") + 2] = 'y';
    Feed again{tail};
    again.fill(b);
    const auto t2 = Clock::now();
    engine->process(b);
    plain_batch = seconds_since(t2);
  }
  const CowStats cow = engine->cow_stats();
  for (int i = 0; i < 4; ++i) {  // a few more snapshots for the pause's spread
    const auto t = Clock::now();
    auto snap = engine->snapshot();
    snapshots.push_back(seconds_since(t));
  }

  // 3. Restore.
  const auto r0 = Clock::now();
  Recovered rec = recover(store, config.result_settings(), make_engine);
  const double restore = seconds_since(r0);
  if (!rec.meta || rec.engine->stats().read != records) {
    std::fprintf(stderr, "restore failed\n");
    return 1;
  }

  // 4. Throughput: the whole feed with a checkpoint every second, against none.
  std::vector<double> plain, with;
  std::size_t checkpoints = 0;
  for (std::size_t run = 0; run < runs; ++run) {
    for (bool ck : {false, true}) {
      auto e = make_engine();
      Feed feed{records_text};
      EventBatch b;
      CheckpointStore s(dir / ("run" + std::to_string(run)), 3);
      Checkpointer w(s, [](const CheckpointDone&) {}, [](const std::string&) {});
      const auto t = Clock::now();
      auto last = t;
      while (feed.fill(b)) {
        e->process(b);
        if (ck && Clock::now() - last >= std::chrono::seconds(1) && !w.busy()) {
          CheckpointJob j;
          j.batch_id = e->stats().batches;
          j.engine = e->snapshot();
          j.meta.settings = config.result_settings();
          w.submit(std::move(j));
          last = Clock::now();
          ++checkpoints;
        }
      }
      (ck ? with : plain).push_back(static_cast<double>(records) / seconds_since(t));
      w.wait_idle();
    }
  }
  std::filesystem::remove_all(dir);

  const double pause = *std::max_element(snapshots.begin(), snapshots.end());
  const double ratio = median(with) / median(plain);
  std::printf("checkpoint with %zu products, %zu customers, %zu order lines in open windows\n", distinct, distinct, records);
  std::printf("  size                      %10.1f MiB\n", static_cast<double>(done.bytes) / (1 << 20));
  std::printf("  writer time               %10.3f s (encode, write, fsync, rename)\n", done.seconds);
  std::printf("  snapshot pause            %10.3f ms median, %.3f ms max of %zu\n", median(snapshots) * 1e3, pause * 1e3, snapshots.size());
  std::printf("  copy-on-write pane copy   %10.3f ms longest (%llu copies); batch after snapshot %.1f ms vs %.1f ms\n",
              cow.longest_pane_copy_seconds * 1e3, static_cast<unsigned long long>(cow.pane_copies), cow_batch * 1e3, plain_batch * 1e3);
  std::printf("  restore                   %10.3f s\n", restore);
  std::printf("  throughput, none          %10.0f records/s (median of %zu)\n", median(plain), runs);
  std::printf("  throughput, every 1 s     %10.0f records/s (%zu checkpoints), ratio %.3f\n", median(with), checkpoints, ratio);
  if (!json_out.empty()) {
    std::ofstream(json_out) << fmt::format(
        R"({{"records":{},"distinct_products":{},"distinct_customers":{},"size_bytes":{},"writer_seconds":{:.4f},)"
        R"("snapshot_pause_ms_median":{:.4f},"snapshot_pause_ms_max":{:.4f},"cow_longest_ms":{:.4f},"cow_copies":{},)"
        R"("batch_after_snapshot_ms":{:.3f},"batch_plain_ms":{:.3f},"restore_seconds":{:.4f},)"
        R"("records_per_second_no_checkpoints":{:.0f},"records_per_second_checkpoint_1s":{:.0f},"ratio":{:.4f},"runs":{}}})"
        "\n",
        records, distinct, distinct, done.bytes, done.seconds, median(snapshots) * 1e3, pause * 1e3,
        cow.longest_pane_copy_seconds * 1e3, cow.pane_copies, cow_batch * 1e3, plain_batch * 1e3, restore,
        median(plain), median(with), ratio, runs);
  }
  return 0;
}
