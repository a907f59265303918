#include "orderpulse/operators/enrichment.h"

namespace orderpulse {

void Enrichment::on_batch(EventBatch& batch, Collector& out) {
  auto& events = batch.events();
  // The product index outgrows the caches with a large catalog: fetch a record's slot a few
  // records ahead (its hash came from the parse thread).
  constexpr std::size_t kAhead = 8;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i + kAhead < events.size()) directory_.prefetch_product(events[i + kAhead].product_hash);
    Event& e = events[i];
    if (e.status != EventStatus::accepted) continue;
    e.product_ref = directory_.product(e.product_id, e.product_hash);
    e.category_ref = directory_.category_for(e.product_ref, e.category);
    e.category = directory_.category_name(e.category_ref);
    if (const CatalogEntry* entry = directory_.catalog_entry(e.product_ref)) {
      if (sold_.size() <= e.product_ref) sold_.resize(e.product_ref + 1, 0);
      std::int64_t& sold = sold_.mut(e.product_ref);
      const bool restock = e.kind == EventKind::restock;
      sold += restock ? -std::int64_t{e.quantity} : std::int64_t{e.quantity};
      const std::int64_t stock = entry->stock - sold;
      if (restock || stock <= entry->reorder_level)
        out.stock.push_back({static_cast<std::uint32_t>(i), e.product_ref, stock, entry->reorder_level, restock});
    }
  }
}

std::optional<std::int64_t> Enrichment::stock(std::string_view product_id) const {
  const auto id = directory_.find_product(product_id);
  const CatalogEntry* entry = id ? directory_.catalog_entry(*id) : nullptr;
  if (!entry) return std::nullopt;
  return entry->stock - (*id < sold_.size() ? sold_[*id] : 0);
}

void Enrichment::encode(const Frozen& f, Encoder& out) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < f.size; ++i) n += f[i] != 0;
  out.varint(n);
  for (std::size_t i = 0; i < f.size; ++i) {
    if (f[i] == 0) continue;
    out.varint(i);
    out.svarint(f[i]);
  }
}

void Enrichment::decode(Decoder& in) {
  const std::size_t n = in.count(2);
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint64_t id = in.varint();
    if (id >= directory_.products()) throw CodecError("stock: unknown product id");
    if (sold_.size() <= id) sold_.resize(id + 1, 0);
    sold_.mut(id) = in.svarint();
  }
}

}  // namespace orderpulse
