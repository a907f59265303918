#pragma once
// Fills a missing category from the product catalog ("unknown" when it has none) and tracks live
// stock per catalog product, decremented by accepted quantities (the inventory alerts read it).
// Owns the stock levels; the catalog itself is shared and read-only. Engine thread only.

#include <absl/container/flat_hash_map.h>

#include <memory>
#include <optional>

#include "orderpulse/engine/operator.h"
#include "orderpulse/state/catalog.h"

namespace orderpulse {

class Enrichment final : public Operator {
 public:
  static constexpr std::string_view kUnknownCategory = "unknown";

  explicit Enrichment(std::shared_ptr<const Catalog> catalog) : catalog_(std::move(catalog)) {}

  std::string_view name() const override { return "enrichment"; }
  void on_batch(EventBatch& batch, Collector& out) override;
  void on_watermark(TimestampMs, Collector&) override {}

  // Remaining stock of a catalog product (its catalog stock until it sells); nullopt if unknown.
  std::optional<std::int64_t> stock(std::string_view product_id) const;

 private:
  std::shared_ptr<const Catalog> catalog_;
  absl::flat_hash_map<std::string_view, std::int64_t> sold_;  // keys point into the catalog
};

}  // namespace orderpulse
