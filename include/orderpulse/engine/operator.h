#pragma once
// The operator contract shared by batch and streaming mode (after Arroyo): one interface with a
// hook per micro-batch and one per watermark advance. End of input is simply a watermark at
// kMaxTime, so batch mode flushes through the same code as a live stream. Operators do no I/O and
// take time only from the data; they run on the engine thread and own their state objects.
// Checkpoint hooks join this interface with the checkpoint work.

#include <string_view>
#include <vector>

#include "orderpulse/common/time.h"
#include "orderpulse/engine/event_batch.h"
#include "orderpulse/engine/window_result.h"
#include "orderpulse/operators/alert.h"

namespace orderpulse {

// A catalog product's stock after one record, reported by Enrichment in read order when it is at
// or below the reorder level, or after a restock (the low-inventory rule reads these).
struct StockLevel {
  std::uint32_t event;  // index of the event in its batch
  std::uint32_t product;  // ProductDirectory id
  std::int64_t stock;
  std::int64_t reorder_level;
  bool restock;
};

// What operators hand back to the engine during one micro-batch.
struct Collector {
  std::vector<WindowResult> windows;  // final windows, in emission order
  std::vector<StockLevel> stock;      // this batch's, consumed by the alert operator
  std::vector<Alert> alerts;          // released alerts, in emission order
};

class Operator {
 public:
  virtual ~Operator() = default;
  virtual std::string_view name() const = 0;
  // Sees every event of the batch in read order; may change an accepted event's status.
  virtual void on_batch(EventBatch& batch, Collector& out) = 0;
  // The engine watermark has advanced to `watermark` (kMaxTime at end of input).
  virtual void on_watermark(TimestampMs watermark, Collector& out) = 0;
};

}  // namespace orderpulse
