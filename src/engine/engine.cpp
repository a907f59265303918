#include "orderpulse/engine/engine.h"

namespace orderpulse {

Engine::Engine(const Config& config, std::shared_ptr<const Catalog> catalog)
    : config_(config),
      watermarks_(config.watermark_delay),
      directory_(std::move(catalog)),
      windows_(config, directory_),
      admission_(config, watermarks_, windows_),
      enrichment_(directory_),
      pipeline_{&admission_, &enrichment_, &windows_} {}

void Engine::process(EventBatch& batch) {
  if (!batch.parsed()) parser_.parse(batch);
  for (Operator* op : pipeline_) op->on_batch(batch, collector_);

  for (const Event& e : batch.events()) {
    ++stats_.read;
    switch (e.status) {
      case EventStatus::accepted:
        ++stats_.accepted;
        stats_.first_event_time = std::min(stats_.first_event_time, e.event_time);
        stats_.last_event_time = std::max(stats_.last_event_time, e.event_time);
        continue;
      case EventStatus::rejected: ++stats_.rejected; break;
      case EventStatus::late: ++stats_.late; break;
      case EventStatus::duplicate: ++stats_.duplicate; break;
    }
    ++stats_.by_reason[static_cast<std::size_t>(e.reason)];
    const RawRecord& r = batch.record(e.record);
    const DropView drop{e.reason, r.origin, r.position, batch.text(r)};
    for (ResultSink* s : sinks_) s->on_drop(drop);
  }
  ++stats_.batches;
  advance(watermarks_.engine_watermark());
  deliver();
}

void Engine::finish() {
  advance(kMaxTime);
  deliver();
}

void Engine::advance(TimestampMs watermark) {
  if (watermark <= stats_.watermark) return;
  stats_.watermark = watermark;
  for (Operator* op : pipeline_) op->on_watermark(watermark, collector_);
}

void Engine::deliver() {
  for (const WindowResult& w : collector_.windows)
    for (ResultSink* s : sinks_) s->on_window(w);
  stats_.windows_emitted += collector_.windows.size();
  collector_.windows.clear();
  for (ResultSink* s : sinks_) s->on_batch_end(stats_);
}

}  // namespace orderpulse
