#include "orderpulse/operators/admission.h"

namespace orderpulse {

void Admission::on_batch(EventBatch& batch, Collector&) {
  for (Event& e : batch.events()) {
    if (e.status != EventStatus::accepted) continue;
    const std::uint32_t source = batch.record(e.record).origin->source_id;
    const TimestampMs wm = watermarks_.source_watermark(source);
    if (e.event_time < wm || windows_.all_windows_final(e.event_time)) {
      e.status = EventStatus::late;
      e.reason = DropReason::late;
      continue;
    }
    const TimestampMs min_time = wm == kMinTime ? kMinTime : wm - horizon_;
    if (dedup_.seen_or_insert(e.order_id, e.line, e.event_time, min_time)) {
      e.status = EventStatus::duplicate;
      e.reason = DropReason::duplicate;
      continue;
    }
    watermarks_.observe(source, e.event_time);
  }
}

void Admission::on_watermark(TimestampMs watermark, Collector&) {
  if (watermark == kMaxTime || watermark == kMinTime) return;
  dedup_.evict_older_than(watermark - horizon_, std::max<DurationMs>(horizon_ / 4, 1));
}

}  // namespace orderpulse
