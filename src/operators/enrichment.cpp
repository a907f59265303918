#include "orderpulse/operators/enrichment.h"

#include "orderpulse/common/prefetch.h"

namespace orderpulse {

void Enrichment::on_batch(EventBatch& batch, Collector& out) {
  auto& events = batch.events();
  // A large catalog outgrows the caches, so the work is staggered: a record's product is looked
  // up kAhead records after its index slot and id bytes were prefetched (its hash came from the
  // parse thread), and its category and stock are settled kLag records after that, once the
  // product's facts, found by the id, have been prefetched too. Product ids are still assigned in
  // record order and categories and stock settled in record order, as in one plain pass.
  constexpr std::size_t kAhead = 8;
  constexpr std::size_t kLag = 4;
  const std::size_t n = events.size();
  for (std::size_t i = 0; i < n + kLag; ++i) {
    if (i + kAhead < n) {
      const Event& ahead = events[i + kAhead];
      directory_.prefetch_product(ahead.product_hash);
      prefetch_read(ahead.product_id.data());
      if (!ahead.category.empty()) prefetch_read(ahead.category.data());
    }
    if (i < n && events[i].status == EventStatus::accepted) {
      Event& e = events[i];
      e.product_ref = directory_.product(e.product_id, e.product_hash);
      directory_.prefetch_info(e.product_ref);
    }
    if (i >= kLag && events[i - kLag].status == EventStatus::accepted) settle(events[i - kLag], i - kLag, out);
  }
}

void Enrichment::settle(Event& e, std::size_t index, Collector& out) {
  e.category_ref = directory_.category_for(e.product_ref, e.category);
  e.category = directory_.category_name(e.category_ref);
  if (const CatalogEntry* entry = directory_.catalog_entry(e.product_ref); entry && entry->tracked) {
    if (sold_.size() <= e.product_ref) sold_.resize(e.product_ref + 1, 0);
    std::int64_t& sold = sold_.mut(e.product_ref);
    const bool restock = e.kind == EventKind::restock;
    sold += restock ? -std::int64_t{e.quantity} : std::int64_t{e.quantity};
    const std::int64_t stock = entry->stock - sold;
    if (restock || stock <= entry->reorder_level)
      out.stock.push_back({static_cast<std::uint32_t>(index), e.product_ref, stock, entry->reorder_level, restock});
  }
}

std::optional<std::int64_t> Enrichment::stock(std::string_view product_id) const {
  const auto id = directory_.find_product(product_id);
  const CatalogEntry* entry = id ? directory_.catalog_entry(*id) : nullptr;
  if (!entry || !entry->tracked) return std::nullopt;
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
