#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <thread>

#include "commands.h"
#include "orderpulse/engine/bounded_queue.h"
#include "orderpulse/engine/engine.h"
#include "orderpulse/sink/result_files.h"
#include "orderpulse/sink/summary.h"
#include "progress.h"

namespace orderpulse {
namespace {

// Reads and parses batches on its own thread while the engine thread runs the operators: the two
// halves of the work take about the same time, so two cores nearly halve the wall time. Batches
// circulate between a free pool and a bounded full queue, so memory stays at a few batches.
class ParsingReader {
 public:
  static constexpr std::size_t kBatches = 4;

  ParsingReader(FileSource& source, std::size_t batch_size) : source_(source), batch_size_(batch_size) {
    for (std::size_t i = 0; i < kBatches; ++i) free_.push(std::make_unique<EventBatch>());
    thread_ = std::thread([this] { run(); });
  }
  ~ParsingReader() {
    free_.close();
    full_.close();
    thread_.join();
  }

  // The next parsed batch, or null at end of input. Rethrows a reader failure.
  std::unique_ptr<EventBatch> next() {
    auto batch = full_.pop();
    if (!batch || !*batch) {
      if (error_) std::rethrow_exception(error_);
      return nullptr;
    }
    return std::move(*batch);
  }
  void recycle(std::unique_ptr<EventBatch> batch) { free_.push(std::move(batch)); }

 private:
  void run() {
    try {
      RecordParser parser;
      while (auto batch = free_.pop()) {
        (*batch)->clear();
        if (!source_.fill(**batch, batch_size_)) break;
        (*batch)->seal();
        parser.parse(**batch);
        if (!full_.push(std::move(*batch))) return;
      }
    } catch (...) {
      error_ = std::current_exception();
    }
    full_.push(nullptr);  // end of input (or failure) marker
  }

  FileSource& source_;
  std::size_t batch_size_;
  BoundedQueue<std::unique_ptr<EventBatch>> free_{kBatches};
  BoundedQueue<std::unique_ptr<EventBatch>> full_{kBatches};
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace

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
    ParsingReader reader(source, config.max_batch_size);
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
