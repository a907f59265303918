#include "orderpulse/state/product_directory.h"

namespace orderpulse {

ProductDirectory::ProductDirectory(std::shared_ptr<const Catalog> catalog)
    : catalog_(std::move(catalog)), unknown_(categories_.intern(kUnknownCategory)) {}

std::uint32_t ProductDirectory::product(std::string_view product_id) {
  const std::size_t before = products_.size();
  const std::uint32_t id = products_.intern(product_id);
  if (products_.size() != before) {
    ProductInfo info;
    info.catalog = catalog_ ? catalog_->find(product_id) : nullptr;
    info.default_category =
        info.catalog && !info.catalog->category.empty() ? categories_.intern(info.catalog->category) : unknown_;
    info.last_given = info.default_category;
    products_info_.push_back(info);
  }
  return id;
}

std::uint32_t ProductDirectory::category_for(std::uint32_t product, std::string_view given) {
  ProductInfo& info = products_info_[product];
  if (given.empty()) return info.default_category;
  if (categories_.name(info.last_given) != given) info.last_given = categories_.intern(given);
  return info.last_given;
}

}  // namespace orderpulse
