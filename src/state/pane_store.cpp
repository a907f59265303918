#include "orderpulse/state/pane_store.h"

namespace orderpulse {

void Totals::add(const Event& e, std::uint64_t customer_hash) {
  ++lines;
  items += e.quantity;
  orders += e.line == 1 ? 1 : 0;
  revenue += e.revenue();
  customers.add(customer_hash);
}

void Totals::merge(const Totals& other) {
  lines += other.lines;
  items += other.items;
  orders += other.orders;
  revenue += other.revenue;
  customers.merge(other.customers);
}

void Totals::clear() {
  lines = items = orders = 0;
  revenue = 0;
  customers.clear();
}

void Aggregate::add(const Event& e, std::uint64_t customer_hash) {
  totals.add(e, customer_hash);
  ProductAgg& p = products[e.product_ref];
  p.revenue += e.revenue();
  p.items += e.quantity;
  categories[e.category_ref] += e.revenue();
}

Aggregate& PaneStore::pane_for(TimestampMs t) {
  const TimestampMs start = pane_start(t);
  if (cached_ && start == cached_start_) return *cached_;
  cached_start_ = start;
  cached_ = &panes_[start];
  return *cached_;
}

void PaneStore::erase(Panes::iterator it) {
  if (cached_ == &it->second) cached_ = nullptr;
  panes_.erase(it);
}

}  // namespace orderpulse
