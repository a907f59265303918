#include "world.h"

#include <algorithm>
#include <array>
#include <utility>
#include <charconv>

#include "record.h"

namespace orderpulse::sim {
namespace {

struct CategorySpec {
  std::string_view name;
  Cents min_price;
  Cents max_price;
};

// Price bands per category make revenue-per-category results look like a real shop rather than
// twenty identical buckets.
constexpr std::array<CategorySpec, 20> kCategories = {{
    {"electronics", 1500, 50000},
    {"computers_accessories", 900, 40000},
    {"phones_tablets", 1200, 50000},
    {"toys", 300, 8000},
    {"books", 300, 6000},
    {"home_garden", 500, 30000},
    {"kitchen_dining", 400, 20000},
    {"furniture", 2500, 50000},
    {"bed_bath", 800, 15000},
    {"health_beauty", 200, 9000},
    {"fashion_apparel", 700, 20000},
    {"shoes", 1500, 25000},
    {"jewelry_watches", 1000, 50000},
    {"sports_outdoors", 600, 40000},
    {"automotive", 400, 30000},
    {"pet_supplies", 200, 12000},
    {"baby", 300, 15000},
    {"office_supplies", 100, 10000},
    {"grocery", 100, 4000},
    {"musical_instruments", 1000, 50000},
}};

// Shop-like endings: mostly .99, some .49/.95/.00.
constexpr std::array<Cents, 6> kPriceEndings = {99, 99, 99, 49, 95, 0};

// Fisher-Yates with our own Rng, so the shuffle is the same on every standard library.
std::vector<std::uint32_t> shuffled_ids(std::uint64_t n, Rng& rng) {
  std::vector<std::uint32_t> ids(n);
  for (std::uint64_t i = 0; i < n; ++i) ids[i] = static_cast<std::uint32_t>(i);
  for (std::uint64_t i = n; i > 1; --i) std::swap(ids[i - 1], ids[rng.below(i)]);
  return ids;
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

}  // namespace

World::World(std::uint64_t seed, std::uint64_t products, std::uint64_t customers)
    : products_(products), product_pop_(products, kProductSkew), customer_pop_(customers, kCustomerSkew) {
  Rng rng(seed, 1);
  for (Product& p : products_) {
    p.category = static_cast<std::uint32_t>(rng.below(kCategories.size()));
    const CategorySpec& spec = kCategories[p.category];
    // Log-uniform between the band's ends: many cheap items, few expensive ones.
    const double lo = det_log(static_cast<double>(spec.min_price));
    const double hi = det_log(static_cast<double>(spec.max_price));
    const auto raw = static_cast<Cents>(det_exp(lo + (hi - lo) * rng.unit()));
    const Cents ending = kPriceEndings[rng.below(kPriceEndings.size())];
    p.base_price = std::max<Cents>(raw / 100 * 100 + ending, 99);
    p.stock = static_cast<std::int32_t>(rng.between(50, 5000));
    p.reorder_level = std::max(5, p.stock / 10);
  }
  product_by_rank_ = shuffled_ids(products, rng);
  customer_by_rank_ = shuffled_ids(customers, rng);
}

std::string_view World::category_of(std::uint64_t product_no) const {
  return kCategories[product(product_no).category].name;
}

Cents World::line_price(std::uint64_t product_no, Rng& rng) const {
  const Cents base = product(product_no).base_price;
  if (!rng.chance(0.05)) return base;
  // -15%..+10%, whole cents: promotions are more common than surcharges.
  const std::int64_t percent = rng.between(85, 110);
  return std::max<Cents>(base * percent / 100, 1);
}

void World::append_catalog_csv(std::string& out) const {
  out.append("product_id,category,stock,reorder_level\n");
  for (std::uint64_t no = 1; no <= products_.size(); ++no) {
    append_product_id(out, no);
    out.push_back(',');
    out.append(category_of(no));
    out.push_back(',');
    append_int(out, product(no).stock);
    out.push_back(',');
    append_int(out, product(no).reorder_level);
    out.push_back('\n');
  }
}

}  // namespace orderpulse::sim
