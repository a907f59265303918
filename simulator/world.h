#pragma once
// The synthetic shop the generator samples from. Owns the product table (category, base price,
// stock), the Zipf popularity samplers for products and customers, and the rank -> id shuffles
// that keep the most popular ids from all being p000001, p000002, ... It is built from its own
// Rng stream, so for one seed the catalog is the same whatever --count or fault fractions are.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "orderpulse/common/money.h"
#include "rng.h"

namespace orderpulse::sim {

struct Product {
  std::uint32_t category = 0;  // index into the category table
  Cents base_price = 0;
  std::int32_t stock = 0;
  std::int32_t reorder_level = 0;
};

class World {
 public:
  static constexpr double kProductSkew = 1.1;
  static constexpr double kCustomerSkew = 0.6;

  World(std::uint64_t seed, std::uint64_t products, std::uint64_t customers);

  // 1-based ids, as printed.
  std::uint64_t pick_product(Rng& rng) const { return product_by_rank_[product_pop_.sample(rng)] + 1; }
  std::uint64_t pick_customer(Rng& rng) const { return customer_by_rank_[customer_pop_.sample(rng)] + 1; }

  const Product& product(std::uint64_t product_no) const { return products_[product_no - 1]; }
  std::uint64_t products() const { return products_.size(); }
  std::uint64_t least_popular_product() const { return product_by_rank_.back() + 1; }
  std::string_view category_of(std::uint64_t product_no) const;

  // Price of one line: the base price, with an occasional promotion or surcharge.
  Cents line_price(std::uint64_t product_no, Rng& rng) const;

  // product_id,category,stock,reorder_level for every product, in id order.
  void append_catalog_csv(std::string& out) const;

 private:
  std::vector<Product> products_;
  std::vector<std::uint32_t> product_by_rank_;
  std::vector<std::uint32_t> customer_by_rank_;
  ZipfSampler product_pop_;
  ZipfSampler customer_pop_;
};

}  // namespace orderpulse::sim
