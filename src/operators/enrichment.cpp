#include "orderpulse/operators/enrichment.h"

namespace orderpulse {

void Enrichment::on_batch(EventBatch& batch, Collector&) {
  for (Event& e : batch.events()) {
    if (e.status != EventStatus::accepted) continue;
    const CatalogEntry* entry = catalog_ ? catalog_->find(e.product_id) : nullptr;
    if (e.category.empty()) e.category = entry && !entry->category.empty() ? entry->category : kUnknownCategory;
    if (entry) sold_[entry->product_id] += e.quantity;
  }
}

std::optional<std::int64_t> Enrichment::stock(std::string_view product_id) const {
  const CatalogEntry* entry = catalog_ ? catalog_->find(product_id) : nullptr;
  if (!entry) return std::nullopt;
  auto it = sold_.find(product_id);
  return entry->stock - (it == sold_.end() ? 0 : it->second);
}

}  // namespace orderpulse
