#pragma once
// Sliding and tumbling windows by slicing (DESIGN.md "Time, watermarks, lateness"): accepted
// events update one pane each; when the watermark passes a window's end the window is merged from
// its panes and emitted once; panes no open window needs are freed. Also keeps running totals.
// State lives in PaneStore; names come from the shared ProductDirectory. Engine thread only.

#include <utility>
#include <vector>

#include "orderpulse/config/config.h"
#include "orderpulse/engine/operator.h"
#include "orderpulse/state/pane_store.h"
#include "orderpulse/state/pane_sums.h"
#include "orderpulse/state/product_directory.h"

namespace orderpulse {

class WindowAggregate final : public Operator {
 public:
  WindowAggregate(const Config& config, const ProductDirectory& directory);

  std::string_view name() const override { return "window_aggregate"; }
  void on_batch(EventBatch& batch, Collector& out) override;
  void on_watermark(TimestampMs watermark, Collector& out) override;

  // True when every window containing t is already final: a record at t can change nothing.
  bool all_windows_final(TimestampMs t) const {
    // Every window holding t ends after t: at or past the finalized time none of them is final.
    // Nearly every record takes this exit, inline (Admission asks for every record).
    return finalized_ != kMinTime && t < finalized_ && !any_window_open(t);
  }
  // Live partial values: for each spec, the open window holding the newest pane that ends first
  // (the current minute, the last ten minutes). Empty before any record.
  std::vector<WindowResult> open_windows();

  const Totals& totals() const { return totals_; }
  const CowStats& cow_stats() const { return store_.cow_stats(); }

  // Checkpoint state: finality, running totals and the panes (shared, not copied).
  struct Frozen {
    TimestampMs finalized;
    Totals totals;
    PaneStore::Frozen panes;
  };
  Frozen freeze() { return Frozen{finalized_, totals_, store_.freeze()}; }
  static void encode(const Frozen& frozen, Encoder& out);
  // Product and category ids must already be known to the directory.
  void decode(Decoder& in);

 private:
  bool any_window_open(TimestampMs t) const;  // some window holding t ends after finalized_
  // Sums one window's panes into `out`; false when the window holds no record. Final windows of
  // a sliding spec go through the spec's running sums, live partial ones (open_windows) are merged
  // afresh.
  bool compute(std::size_t spec, TimestampMs start, WindowResult& out, bool final);

  std::vector<WindowSpec> specs_;
  std::size_t top_n_;
  const ProductDirectory& directory_;
  PaneStore store_;
  Totals totals_;
  // Per spec: the sums of the panes of the next final window but its newest slide. Derived from
  // the panes, so never checkpointed; `valid` false makes the next window merge its panes afresh.
  struct Running {
    PaneSums sums;
    TimestampMs next_start = kMinTime;
    bool valid = false;
  };
  std::vector<Running> running_;
  PaneSums once_;  // a window merged afresh
  HyperLogLog customers_;
  std::vector<std::pair<std::uint32_t, ProductAgg>> products_;  // scratch of compute()
  std::vector<std::pair<std::uint32_t, CentsSum>> categories_;
  TimestampMs finalized_ = kMinTime;
  struct Due {
    TimestampMs end;
    std::size_t spec;
    TimestampMs start;
    auto operator<=>(const Due&) const = default;
  };
  std::vector<Due> due_;
};

}  // namespace orderpulse
