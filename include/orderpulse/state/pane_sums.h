#pragma once
// The sums of a set of panes, kept so that panes can be taken out again: a sliding window's sums
// move on by adding the panes that enter it and subtracting the ones that leave, instead of
// merging all of its panes for every slide (a 1h window sliding every minute merges 2 panes per
// window, not 60). Counts and money are integers, so a sum reached this way is exactly the one
// a fresh merge gives. The customer sketch cannot be subtracted and is not kept here.
//
// Dense by product and category id with the list of ids touched, so that collecting or clearing
// costs what was touched and never reallocates. Owned by WindowAggregate; engine thread only.

#include <cstdint>
#include <utility>
#include <vector>

#include "orderpulse/state/pane_store.h"

namespace orderpulse {

class PaneSums {
 public:
  // Adds (sign +1) or subtracts (sign -1) a pane.
  void add(const Aggregate& pane, int sign);
  void clear();

  std::int64_t lines() const { return lines_; }
  std::int64_t items() const { return items_; }
  std::int64_t orders() const { return orders_; }
  CentsSum revenue() const { return revenue_; }
  // The products and categories present in the sum (a product's items, a category's pane count
  // above zero), by id. Also forgets ids whose sums went back to zero.
  void collect(std::vector<std::pair<std::uint32_t, ProductAgg>>& products,
               std::vector<std::pair<std::uint32_t, CentsSum>>& categories);

 private:
  std::int64_t lines_ = 0, items_ = 0, orders_ = 0;
  CentsSum revenue_ = 0;
  // ProductAgg's fields with the flag in its padding: one per product id, a million with a large
  // catalog, so 32 bytes rather than 48.
  struct ProductSum {
    CentsSum revenue = 0;
    std::int64_t items = 0;
    bool listed = false;  // in touched_products_
  };
  static_assert(sizeof(ProductSum) == 32);
  std::vector<ProductSum> products_;
  std::vector<std::uint32_t> touched_products_;
  struct CategorySum {
    CentsSum revenue = 0;
    std::int64_t panes = 0;  // panes holding the category: revenue alone cannot tell (it may be 0)
    bool listed = false;
  };
  std::vector<CategorySum> categories_;
  std::vector<std::uint32_t> touched_categories_;
};

}  // namespace orderpulse
