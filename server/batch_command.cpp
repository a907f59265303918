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
int run_batch(const BatchOptions& opt) {
  Config config = opt.config_path.empty() ? Config::defaults() : Config::load_file(opt.config_path);
  if (opt.batch_size) config.max_batch_size = *opt.batch_size;

  std::shared_ptr<const Catalog> catalog;
  if (!opt.catalog_path.empty()) catalog = std::make_shared<const Catalog>(Catalog::load_csv(opt.catalog_path));

  FileSource source(opt.inputs, opt.format, config.max_line_bytes);
  source.check_inputs();
  ResultFiles files(opt.output_dir, /*flush_every_batch=*/false);
  Engine engine(config, catalog);
  engine.add_sink(files);

  const auto start = std::chrono::steady_clock::now();
  Progress progress(source.total_bytes());
  {
    // Reading and parsing run on a second thread while this one runs the operators.
    ParseStage reader([&](std::unique_ptr<EventBatch>& b) { return source.fill(*b, config.max_batch_size); });
    while (auto batch = reader.next()) {
      engine.process(*batch);
      reader.recycle(std::move(batch));
      if (!opt.quiet) progress.update(engine.stats().read, source.bytes_consumed());
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
    std::fprintf(stderr, "orderpulse batch: %llu read, %llu accepted, %llu rejected, %llu late, %llu duplicate; %llu windows; %.2fs (%.0f records/s) -> %s\n",
                 static_cast<unsigned long long>(s.read), static_cast<unsigned long long>(s.accepted),
                 static_cast<unsigned long long>(s.rejected), static_cast<unsigned long long>(s.late),
                 static_cast<unsigned long long>(s.duplicate), static_cast<unsigned long long>(s.windows_emitted), secs,
                 secs > 0 ? static_cast<double>(s.read) / secs : 0.0, opt.output_dir.c_str());
  }
  return 0;
}

}  // namespace orderpulse
