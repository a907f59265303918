#include "orderpulse/operators/admission.h"

#include "orderpulse/common/prefetch.h"

namespace orderpulse {

void Admission::on_batch(EventBatch& batch, Collector&) {
  auto& events = batch.events();
  // A source's watermark only moves with its own accepted records, so along a run of records of one
  // source (a whole batch in batch mode) it is tracked here and written back once at the run's end,
  // rather than looked up and updated in the watermark map for every record.
  std::uint32_t source = UINT32_MAX;
  TimestampMs max_time = kMinTime;  // of the run's source: its watermark is this minus the delay
  bool accepted = false;
  auto end_run = [&] {
    if (accepted) watermarks_.observe(source, max_time);
    accepted = false;
  };
  // The dedup table is far larger than the caches: prefetch the slot of the record a few places
  // ahead (its hash came from the parse thread) so its cache miss overlaps with this one's work,
  // and its order id, which the parse thread wrote and a new key is copied from.
  constexpr std::size_t kAhead = 16;
  // Kept in locals: members, incremented in memory, made each record wait for the previous one's store.
  std::uint64_t accepted_records = 0;
  TimestampMs first = kMaxTime, last = kMinTime;
  bool dropped = false;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i + kAhead < events.size() && events[i + kAhead].status == EventStatus::accepted && events[i + kAhead].kind == EventKind::order) {
      dedup_.prefetch(events[i + kAhead].dedup_hash);
      prefetch_read(events[i + kAhead].order_id.data());
    }
    Event& e = events[i];
    if (e.status != EventStatus::accepted) {
      dropped = true;
      continue;
    }
    if (const std::uint32_t s = batch.record(e.record).origin->source_id; s != source) {
      end_run();
      source = s;
      max_time = watermarks_.max_time(source);
    }
    const TimestampMs wm = max_time == kMinTime ? kMinTime : max_time - watermarks_.delay();
    if (e.event_time < wm || windows_.all_windows_final(e.event_time)) {
      e.status = EventStatus::late;
      e.reason = DropReason::late;
      dropped = true;
      continue;
    }
    const TimestampMs min_time = wm == kMinTime ? kMinTime : wm - horizon_;
    // A restock has no (order_id, line) key: it is never a duplicate.
    if (e.kind == EventKind::order && dedup_.seen_or_insert(e.dedup_hash, e.order_id, e.line, e.event_time, min_time)) {
      e.status = EventStatus::duplicate;
      e.reason = DropReason::duplicate;
      dropped = true;
      continue;
    }
    max_time = std::max(max_time, e.event_time);
    accepted = true;
    ++accepted_records;
    first = std::min(first, e.event_time);
    last = std::max(last, e.event_time);
  }
  end_run();
  tally_ = {accepted_records, first, last, dropped};
}

void Admission::on_watermark(TimestampMs watermark, Collector&) {
  if (watermark == kMaxTime || watermark == kMinTime) return;
  dedup_.evict_older_than(watermark - horizon_);
}

}  // namespace orderpulse
