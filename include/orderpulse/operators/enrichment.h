#pragma once
// Resolves each accepted record's product and category to ProductDirectory ids, filling a missing
// category from the catalog ("unknown" when it has none), and tracks live stock per catalog
// product, decremented by accepted quantities and raised by restock records; it reports the stock
// of products at or below their reorder level, and after restocks, to the low-inventory rule.
// Owns the sold counts; the directory is the engine's. Engine thread only.

#include <optional>
#include <vector>

#include "orderpulse/engine/operator.h"
#include "orderpulse/state/codec.h"
#include "orderpulse/state/cow_chunks.h"
#include "orderpulse/state/product_directory.h"

namespace orderpulse {

class Enrichment final : public Operator {
 public:
  explicit Enrichment(ProductDirectory& directory) : directory_(directory) {}

  std::string_view name() const override { return "enrichment"; }
  void on_batch(EventBatch& batch, Collector& out) override;
  void on_watermark(TimestampMs, Collector&) override {}

  // Remaining stock of a catalog product (its catalog stock until it sells); nullopt if the
  // product is not in the catalog.
  std::optional<std::int64_t> stock(std::string_view product_id) const;

  using Frozen = CowChunks<std::int64_t>::Frozen;
  Frozen freeze() { return sold_.freeze(); }
  static void encode(const Frozen& frozen, Encoder& out);
  void decode(Decoder& in);

 private:
  // The record's category and stock, once its product is known; `index` is its place in the batch.
  void settle(Event& e, std::size_t index, Collector& out);
  ProductDirectory& directory_;
  CowChunks<std::int64_t> sold_;  // by product id
};

}  // namespace orderpulse
