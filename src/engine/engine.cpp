#include "orderpulse/engine/engine.h"

namespace orderpulse {

Engine::Engine(const Config& config, std::shared_ptr<const Catalog> catalog)
    : config_(config),
      watermarks_(config.watermark_delay),
      directory_(std::move(catalog)),
      windows_(config, directory_),
      admission_(config, watermarks_, windows_),
      enrichment_(directory_),
      alerts_(config_.alerts, directory_),
      health_(config_.alerts),
      pipeline_{&admission_, &enrichment_, &windows_, &alerts_} {
  watermarks_.set_idle_timeout(config.idle_timeout);
}

void Engine::process(EventBatch& batch) {
  if (!batch.parsed()) parser_.parse(batch);
  for (Operator* op : pipeline_) op->on_batch(batch, collector_);

  if (watermarks_.tracks_activity()) {
    std::uint32_t last_source = UINT32_MAX;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const std::uint32_t source = batch.record(i).origin->source_id;
      if (source != last_source) watermarks_.touch(source);
      last_source = source;
    }
  }
  // Admission, first in the pipeline and the last to change a record's status, has counted the
  // accepted records; the others go to the ledger, in read order.
  const Admission::Tally& tally = admission_.tally();
  if (tally.dropped) {
    for (const Event& e : batch.events()) {
      switch (e.status) {
        case EventStatus::accepted: continue;
        case EventStatus::rejected: ++stats_.rejected; break;
        case EventStatus::late: ++stats_.late; break;
        case EventStatus::duplicate: ++stats_.duplicate; break;
      }
      ++stats_.by_reason[static_cast<std::size_t>(e.reason)];
      const RawRecord& r = batch.record(e.record);
      const DropView drop{e.reason, r.origin, r.position, batch.text(r)};
      for (ResultSink* s : sinks_) s->on_drop(drop);
    }
  }
  stats_.read += batch.events().size();
  stats_.accepted += tally.accepted;
  stats_.first_event_time = std::min(stats_.first_event_time, tally.first);
  stats_.last_event_time = std::max(stats_.last_event_time, tally.last);
  ++stats_.batches;
  advance(watermarks_.engine_watermark());
  deliver();
}

void Engine::set_clock(TimestampMs now) {
  watermarks_.set_now(now);
  const TimestampMs wm = watermarks_.engine_watermark();
  if (wm > stats_.watermark) {
    advance(wm);
    deliver();
  }
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

void Engine::report_health(const HealthInputs& inputs, TimestampMs wall_now) {
  health_.evaluate(inputs, wall_now, collector_.alerts);
  for (const Alert& a : collector_.alerts)
    for (ResultSink* s : sinks_) s->on_alert(a);
  collector_.alerts.clear();
}

DataAlerts::Counts Engine::firing_alerts() const {
  DataAlerts::Counts counts = alerts_.firing();
  health_.add_firing(counts);
  return counts;
}

void Engine::deliver() {
  for (const WindowResult& w : collector_.windows)
    for (ResultSink* s : sinks_) s->on_window(w);
  stats_.windows_emitted += collector_.windows.size();
  collector_.windows.clear();
  for (const Alert& a : collector_.alerts)
    for (ResultSink* s : sinks_) s->on_alert(a);
  collector_.alerts.clear();
  for (ResultSink* s : sinks_) s->on_batch_end(stats_);
}

namespace {

void encode_stats(const EngineStats& s, Encoder& out) {
  for (std::uint64_t v : {s.read, s.accepted, s.rejected, s.late, s.duplicate}) out.varint(v);
  out.varint(s.by_reason.size());
  for (std::uint64_t v : s.by_reason) out.varint(v);
  out.varint(s.windows_emitted);
  out.varint(s.batches);
  out.i64(s.first_event_time);
  out.i64(s.last_event_time);
  out.i64(s.watermark);
}

void decode_stats(Decoder& in, EngineStats& s) {
  for (std::uint64_t* v : {&s.read, &s.accepted, &s.rejected, &s.late, &s.duplicate}) *v = in.varint();
  // Reasons are appended at the end of the enum only, so an older list is a prefix.
  const std::size_t n = in.count(1);
  if (n > s.by_reason.size()) throw CodecError("stats: unknown drop reasons");
  for (std::size_t i = 0; i < n; ++i) s.by_reason[i] = in.varint();
  s.windows_emitted = in.varint();
  s.batches = in.varint();
  s.first_event_time = in.i64();
  s.last_event_time = in.i64();
  s.watermark = in.i64();
  if (s.read != s.accepted + s.rejected + s.late + s.duplicate) throw CodecError("stats: counts do not add up");
}

}  // namespace

EngineSnapshot Engine::snapshot() {
  EngineSnapshot snap;
  snap.stats = stats_;
  snap.watermarks = watermarks_;
  snap.directory = directory_.freeze();
  snap.sold = enrichment_.freeze();
  snap.windows = windows_.freeze();
  snap.dedup = admission_.freeze();
  snap.alerts = alerts_.freeze();
  const TimestampMs wm = watermarks_.engine_watermark();
  snap.dedup_min_time = wm == kMinTime || wm == kMaxTime ? wm : wm - admission_.horizon();
  return snap;
}

void Engine::encode(const EngineSnapshot& snap, Encoder& out) {
  encode_stats(snap.stats, out);
  snap.watermarks.encode(out);
  ProductDirectory::encode(snap.directory, out);
  Enrichment::encode(snap.sold, out);
  WindowAggregate::encode(snap.windows, out);
  DedupSet::encode(snap.dedup, snap.dedup_min_time, out);
  DataAlerts::encode(snap.alerts, out);
}

void Engine::decode(Decoder& in) {
  if (stats_.batches != 0 || stats_.read != 0) throw CodecError("restore into a used engine");
  decode_stats(in, stats_);
  watermarks_.decode(in);
  directory_.decode(in);
  enrichment_.decode(in);
  windows_.decode(in);
  admission_.decode(in);
  alerts_.decode(in);
}

}  // namespace orderpulse
