#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "orderpulse/engine/engine.h"
#include "orderpulse/engine/parse_stage.h"
#include "orderpulse/sink/result_files.h"
#include "orderpulse/sink/summary.h"
#include "progress.h"

namespace orderpulse {
namespace {

// Results do not depend on batch boundaries, so batch mode picks a batch whose text and events
// (about 1 MiB at 4096 records) stay in a core's cache between parsing and the operators; 65536
// records, the serve default, spill to memory and cost a page fault per fresh 4 KiB.
constexpr std::size_t kBatchModeRecords = 4096;

unsigned usable_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return static_cast<unsigned>(CPU_COUNT(&set));
}

}  // namespace

int run_batch(const BatchOptions& opt) {
  Config config = opt.config_path.empty() ? Config::defaults() : Config::load_file(opt.config_path);
  if (opt.batch_size) config.max_batch_size = *opt.batch_size;
  const std::size_t batch_size = opt.batch_size ? *opt.batch_size : std::min(config.max_batch_size, kBatchModeRecords);
  const unsigned threads = opt.threads ? opt.threads : usable_cpus() > 1 ? 2 : 1;

  std::shared_ptr<const Catalog> catalog;
  if (!opt.catalog_path.empty()) catalog = std::make_shared<const Catalog>(Catalog::load_csv(opt.catalog_path));

  FileSource source(opt.inputs, opt.format, config.max_line_bytes);
  source.check_inputs();
  ResultFiles files(opt.output_dir, /*flush_every_batch=*/false);
  Engine engine(config, catalog);
  engine.add_sink(files);

  const auto start = std::chrono::steady_clock::now();
  Progress progress(source.total_bytes());
  // The engine parses a batch that arrives unparsed, so both paths hand it the same batches.
  auto process = [&](EventBatch& batch) {
    engine.process(batch);
    if (!opt.quiet) progress.update(engine.stats().read, source.bytes_consumed());
  };
  if (threads == 1) {
    // One core: read, parse and run the operators on one small batch at a time, while its text
    // and events are still in this core's cache.
    EventBatch batch;
    while (true) {
      batch.clear();
      if (!source.fill(batch, batch_size)) break;
      batch.seal();
      process(batch);
    }
  } else {
    // Reading and parsing run on a second thread while this one runs the operators.
    ParseStage reader([&](std::unique_ptr<EventBatch>& b) { return source.fill(*b, batch_size); });
    while (auto batch = reader.next()) {
      process(*batch);
      reader.recycle(std::move(batch));
    }
  }
  engine.finish();
  files.flush();
  progress.done();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const auto summary = make_summary(engine, RunInfo{secs, source.blank_lines(), source.bytes_consumed()});
  write_summary(opt.output_dir + "/summary.json", summary);
  const EngineStats& s = engine.stats();
  if (!opt.quiet) {
    std::fprintf(stderr, "orderpulse batch: %llu read, %llu accepted, %llu rejected, %llu late, %llu duplicate; %llu windows; %.2fs (%.0f records/s, %u thread%s) -> %s\n",
                 static_cast<unsigned long long>(s.read), static_cast<unsigned long long>(s.accepted),
                 static_cast<unsigned long long>(s.rejected), static_cast<unsigned long long>(s.late),
                 static_cast<unsigned long long>(s.duplicate), static_cast<unsigned long long>(s.windows_emitted), secs,
                 secs > 0 ? static_cast<double>(s.read) / secs : 0.0, threads, threads == 1 ? "" : "s",
                 opt.output_dir.c_str());
  }
  return 0;
}

}  // namespace orderpulse
