#include "orderpulse/state/pane_store.h"

#include <algorithm>
#include <chrono>

namespace orderpulse {
namespace {

// A table's (id, value) pairs in id order. Decode inserts them in the order written, and inserting
// a table's keys in its own slot order into a growing table of the same hash piles them into its
// first slots (restore took 5x longer).
template <typename Value, typename Table>
std::vector<std::pair<std::uint32_t, Value>> by_id(const Table& table) {
  std::vector<std::pair<std::uint32_t, Value>> sorted;
  sorted.reserve(table.size());
  table.for_each([&sorted](std::uint32_t id, const Value& v) { sorted.emplace_back(id, v); });
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return sorted;
}

}  // namespace

void Totals::clear() {
  lines = items = orders = 0;
  revenue = 0;
  customers.clear();
}

void Totals::encode(Encoder& out) const {
  out.varint(static_cast<std::uint64_t>(lines));
  out.varint(static_cast<std::uint64_t>(items));
  out.varint(static_cast<std::uint64_t>(orders));
  out.svarint128(revenue);
  customers.encode(out);
}

void Totals::decode(Decoder& in) {
  lines = static_cast<std::int64_t>(in.varint());
  items = static_cast<std::int64_t>(in.varint());
  orders = static_cast<std::int64_t>(in.varint());
  revenue = in.svarint128();
  customers.decode(in);
}

void Aggregate::encode(Encoder& out) const {
  totals.encode(out);
  const auto products_by_id = by_id<ProductAgg>(products);
  out.varint(products_by_id.size());
  for (const auto& [id, agg] : products_by_id) {
    out.varint(id);
    out.svarint128(agg.revenue);
    out.varint(static_cast<std::uint64_t>(agg.items));
  }
  const auto categories_by_id = by_id<CentsSum>(categories);
  out.varint(categories_by_id.size());
  for (const auto& [id, rev] : categories_by_id) {
    out.varint(id);
    out.svarint128(rev);
  }
}

void Aggregate::decode(Decoder& in, std::size_t max_products, std::size_t max_categories) {
  totals.decode(in);
  if (products.size() != 0 || categories.size() != 0) throw CodecError("pane: decode into a used pane");
  const std::size_t np = in.count(3);
  for (std::size_t i = 0; i < np; ++i) {
    const std::uint64_t id = in.varint();
    if (id >= max_products) throw CodecError("pane: unknown product id");
    ProductAgg p;
    p.revenue = in.svarint128();
    p.items = static_cast<std::int64_t>(in.varint());
    products.put(static_cast<std::uint32_t>(id), p);
  }
  const std::size_t nc = in.count(2);
  for (std::size_t i = 0; i < nc; ++i) {
    const std::uint64_t id = in.varint();
    if (id >= max_categories) throw CodecError("pane: unknown category id");
    categories[static_cast<std::uint32_t>(id)] = in.svarint128();
  }
}

Aggregate& PaneStore::find_pane(TimestampMs t) {
  const TimestampMs start = pane_start(t);
  auto [it, created] = panes_.try_emplace(start);
  Slot& slot = it->second;
  if (!slot.agg) {
    slot.agg = std::make_shared<Aggregate>();
    // A pane sells much what the one before it did: sized up front, its tables skip growing one
    // doubling at a time.
    if (created && it != panes_.begin()) {
      if (const Aggregate* before = std::prev(it)->second.agg.get()) {
        slot.agg->products.reserve(before->products.size());
        slot.agg->categories.reserve(before->categories.size());
      }
    }
  } else if (slot.shared) {
    // The one pause a checkpoint causes after its snapshot: measured for the probe.
    const auto begin = std::chrono::steady_clock::now();
    slot.agg = std::make_shared<Aggregate>(*slot.agg);
    cow_.note(std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
  }
  slot.shared = false;
  cached_start_ = start;
  cached_ = slot.agg.get();
  return *cached_;
}

void PaneStore::erase(Panes::const_iterator it) {
  if (cached_ == it->second.agg.get()) cached_ = nullptr;
  panes_.erase(it);
}

PaneStore::Frozen PaneStore::freeze() {
  Frozen f;
  f.reserve(panes_.size());
  for (auto& [start, slot] : panes_) {
    f.emplace_back(start, slot.agg);
    slot.shared = true;
  }
  cached_ = nullptr;
  return f;
}

void PaneStore::encode(const Frozen& frozen, Encoder& out) {
  out.varint(frozen.size());
  for (const auto& [start, agg] : frozen) {
    out.i64(start);
    agg->encode(out);
  }
}

void PaneStore::decode(Decoder& in, std::size_t products, std::size_t categories) {
  panes_.clear();
  cached_ = nullptr;
  const std::size_t n = in.count(8);
  for (std::size_t i = 0; i < n; ++i) {
    const TimestampMs start = in.i64();
    if (start != pane_start(start)) throw CodecError("pane: start not aligned to the pane size");
    auto agg = std::make_shared<Aggregate>();
    agg->decode(in, products, categories);
    panes_[start] = Slot{std::move(agg), false};
  }
}

}  // namespace orderpulse
