#include "orderpulse/operators/admission.h"

namespace orderpulse {

void Admission::on_batch(EventBatch& batch, Collector&) {
  auto& events = batch.events();
  // The dedup table is far larger than the caches: hash every key first, then prefetch the slot
  // of the record a few places ahead so its cache miss overlaps with the work on this one.
  constexpr std::size_t kAhead = 8;
  hashes_.resize(events.size());
  for (std::size_t i = 0; i < events.size(); ++i)
    if (events[i].status == EventStatus::accepted && events[i].kind == EventKind::order) hashes_[i] = DedupSet::hash_key(events[i].order_id, events[i].line);
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i + kAhead < events.size() && events[i + kAhead].status == EventStatus::accepted && events[i + kAhead].kind == EventKind::order) dedup_.prefetch(hashes_[i + kAhead]);
    Event& e = events[i];
    if (e.status != EventStatus::accepted) continue;
    const std::uint32_t source = batch.record(e.record).origin->source_id;
    const TimestampMs wm = watermarks_.source_watermark(source);
    if (e.event_time < wm || windows_.all_windows_final(e.event_time)) {
      e.status = EventStatus::late;
      e.reason = DropReason::late;
      continue;
    }
    const TimestampMs min_time = wm == kMinTime ? kMinTime : wm - horizon_;
    // A restock has no (order_id, line) key: it is never a duplicate.
    if (e.kind == EventKind::order && dedup_.seen_or_insert(hashes_[i], e.order_id, e.line, e.event_time, min_time)) {
      e.status = EventStatus::duplicate;
      e.reason = DropReason::duplicate;
      continue;
    }
    watermarks_.observe(source, e.event_time);
  }
}

void Admission::on_watermark(TimestampMs watermark, Collector&) {
  if (watermark == kMaxTime || watermark == kMinTime) return;
  dedup_.evict_older_than(watermark - horizon_);
}

}  // namespace orderpulse
