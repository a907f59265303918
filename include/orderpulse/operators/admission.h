#pragma once
// Decides, per record and in read order, whether a valid record is late, a duplicate, or
// accepted (DESIGN.md "Time, watermarks, lateness"), and advances its source's watermark.
// Owns the dedup state; reads window finality from WindowAggregate. Engine thread only.

#include <vector>

#include "orderpulse/config/config.h"
#include "orderpulse/engine/operator.h"
#include "orderpulse/engine/watermarks.h"
#include "orderpulse/operators/window_aggregate.h"
#include "orderpulse/state/dedup_set.h"

namespace orderpulse {

class Admission final : public Operator {
 public:
  Admission(const Config& config, SourceWatermarks& watermarks, const WindowAggregate& windows)
      : horizon_(config.effective_dedup_horizon()), watermarks_(watermarks), windows_(windows), dedup_(horizon_) {}

  std::string_view name() const override { return "admission"; }
  void on_batch(EventBatch& batch, Collector& out) override;
  void on_watermark(TimestampMs watermark, Collector& out) override;

  // What the last batch came to, for the engine's counters. This pass reads every record's status
  // and time anyway; the engine then looks at records one by one only when some were turned away.
  struct Tally {
    std::uint64_t accepted = 0;
    TimestampMs first = kMaxTime;  // event times of the accepted records
    TimestampMs last = kMinTime;
    bool dropped = false;  // a record was rejected by the parser, late or a duplicate
  };
  const Tally& tally() const { return tally_; }

  DurationMs horizon() const { return horizon_; }
  DedupSet::Frozen freeze() { return dedup_.freeze(); }
  void decode(Decoder& in) { dedup_.decode(in); }

 private:
  DurationMs horizon_;
  SourceWatermarks& watermarks_;
  const WindowAggregate& windows_;
  DedupSet dedup_;
  Tally tally_;
};

}  // namespace orderpulse
