#pragma once
// Every product and category seen, interned to dense 32-bit ids, with each product's catalog facts
// resolved once at first sight: its catalog entry, its default category. Per-record work is then
// one hash lookup for the product; pane maps key on the ids. Owned by the Engine; written by
// Enrichment and read by WindowAggregate, all on the engine thread.

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "orderpulse/common/prefetch.h"
#include "orderpulse/state/catalog.h"
#include "orderpulse/state/codec.h"
#include "orderpulse/state/interner.h"

namespace orderpulse {

class ProductDirectory {
 public:
  static constexpr std::string_view kUnknownCategory = "unknown";

  explicit ProductDirectory(std::shared_ptr<const Catalog> catalog);

  // `hash` is stable_hash(product_id), when the caller has it already.
  std::uint32_t product(std::string_view product_id, std::uint64_t hash);
  std::uint32_t product(std::string_view product_id) { return product(product_id, stable_hash(product_id)); }
  void prefetch_product(std::uint64_t hash) const { products_.prefetch(hash); }
  void prefetch_info(std::uint32_t product) const { prefetch_read(&products_info_[product]); }
  // The category id of a record of this product: its own category when it names one, else the
  // catalog's, else "unknown".
  std::uint32_t category_for(std::uint32_t product, std::string_view given);

  std::optional<std::uint32_t> find_product(std::string_view product_id) const { return products_.find(product_id); }
  const CatalogEntry* catalog_entry(std::uint32_t product) const { return products_info_[product].catalog; }
  std::string_view product_name(std::uint32_t id) const { return products_.name(id); }
  std::string_view category_name(std::uint32_t id) const { return category_names_[id]; }
  std::size_t products() const { return products_.size(); }
  std::size_t categories() const { return categories_.size(); }

  // Checkpoint state: the names in id order (ids are positions, so panes restore unchanged).
  struct Frozen {
    Interner::Frozen products, categories;
  };
  Frozen freeze() const { return Frozen{products_.freeze(), categories_.freeze()}; }
  static void encode(const Frozen& frozen, Encoder& out);
  // Only into an empty directory; catalog facts are looked up again, as at first sight.
  void decode(Decoder& in);

 private:
  struct ProductInfo {
    const CatalogEntry* catalog = nullptr;
    std::uint32_t default_category = 0;
    std::uint32_t last_given = 0;  // most records of a product repeat the same category
  };

  std::uint32_t intern_category(std::string_view name);

  std::shared_ptr<const Catalog> catalog_;
  Interner products_;
  Interner categories_;
  // The categories' names by id, in one small array: every record reads one or two, and the
  // interner's chunks are two loads away. The names stay where the interner put them.
  std::vector<std::string_view> category_names_;
  std::vector<ProductInfo> products_info_;
  std::uint32_t unknown_;
};

}  // namespace orderpulse
