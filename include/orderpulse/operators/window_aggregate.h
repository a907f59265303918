#pragma once
// Sliding and tumbling windows by slicing (DESIGN.md "Time, watermarks, lateness"): accepted
// events update one pane each; when the watermark passes a window's end the window is merged from
// its panes and emitted once; panes no open window needs are freed. Also keeps running totals.
// State lives in PaneStore; names come from the shared ProductDirectory. Engine thread only.

#include <vector>

#include "orderpulse/config/config.h"
#include "orderpulse/engine/operator.h"
#include "orderpulse/state/pane_store.h"
#include "orderpulse/state/product_directory.h"

namespace orderpulse {

class WindowAggregate final : public Operator {
 public:
  WindowAggregate(const Config& config, const ProductDirectory& directory);

  std::string_view name() const override { return "window_aggregate"; }
  void on_batch(EventBatch& batch, Collector& out) override;
  void on_watermark(TimestampMs watermark, Collector& out) override;

  // True when every window containing t is already final: a record at t can change nothing.
  bool all_windows_final(TimestampMs t) const;
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
  // Merges the panes of one window into `out`; false when the window holds no record.
  bool compute(std::size_t spec, TimestampMs start, WindowResult& out);

  std::vector<WindowSpec> specs_;
  std::size_t top_n_;
  const ProductDirectory& directory_;
  PaneStore store_;
  Totals totals_;
  // Merging a window's panes: dense by product / category id with the list of ids touched, so a
  // merge costs the panes' sizes and never reallocates (hash maps would be freed and regrown).
  struct Merge {
    Totals totals;
    std::vector<ProductAgg> products;
    std::vector<Cents> categories;
    std::vector<std::uint32_t> touched_products, touched_categories;
  };
  Merge merge_;
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
