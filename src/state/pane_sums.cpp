#include "orderpulse/state/pane_sums.h"

namespace orderpulse {

void PaneSums::add(const Aggregate& pane, int sign) {
  const Totals& t = pane.totals;
  lines_ += sign * t.lines;
  items_ += sign * t.items;
  orders_ += sign * t.orders;
  revenue_ += sign * t.revenue;
  pane.products.for_each([&](std::uint32_t id, const ProductAgg& agg) {
    if (id >= products_.size()) products_.resize(id + 1);
    ProductSum& dst = products_[id];
    if (!dst.listed) {
      dst.listed = true;
      touched_products_.push_back(id);
    }
    dst.revenue += sign * agg.revenue;
    dst.items += sign * agg.items;
  });
  pane.categories.for_each([this, sign](std::uint32_t id, CentsSum rev) {
    if (id >= categories_.size()) categories_.resize(id + 1);
    CategorySum& c = categories_[id];
    if (!c.listed) {
      c.listed = true;
      touched_categories_.push_back(id);
    }
    c.revenue += sign * rev;
    c.panes += sign;
  });
}

void PaneSums::collect(std::vector<std::pair<std::uint32_t, ProductAgg>>& products,
                       std::vector<std::pair<std::uint32_t, CentsSum>>& categories) {
  products.clear();
  categories.clear();
  products.reserve(touched_products_.size());
  std::size_t kept = 0;
  for (std::uint32_t id : touched_products_) {
    // Every order line has a quantity of at least 1: a product is in the sum while its items are.
    if (const ProductSum& p = products_[id]; p.items > 0) {
      products.emplace_back(id, ProductAgg{p.revenue, p.items});
      touched_products_[kept++] = id;
    } else {
      products_[id] = ProductSum{};
    }
  }
  touched_products_.resize(kept);
  kept = 0;
  for (std::uint32_t id : touched_categories_) {
    CategorySum& c = categories_[id];
    if (c.panes > 0) {
      categories.emplace_back(id, c.revenue);
      touched_categories_[kept++] = id;
    } else {
      c = CategorySum{};
    }
  }
  touched_categories_.resize(kept);
}

void PaneSums::clear() {
  lines_ = items_ = orders_ = 0;
  revenue_ = 0;
  for (std::uint32_t id : touched_products_) products_[id] = ProductSum{};
  touched_products_.clear();
  for (std::uint32_t id : touched_categories_) categories_[id] = CategorySum{};
  touched_categories_.clear();
}

}  // namespace orderpulse
