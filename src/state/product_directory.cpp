#include "orderpulse/state/product_directory.h"

#include "orderpulse/common/bytes.h"

namespace orderpulse {

ProductDirectory::ProductDirectory(std::shared_ptr<const Catalog> catalog)
    : catalog_(std::move(catalog)), unknown_(intern_category(kUnknownCategory)) {}

std::uint32_t ProductDirectory::intern_category(std::string_view name) {
  const std::uint32_t id = categories_.intern(name);
  if (id == category_names_.size()) category_names_.push_back(categories_.name(id));
  return id;
}

std::uint32_t ProductDirectory::product(std::string_view product_id, std::uint64_t hash) {
  const std::size_t before = products_.size();
  const std::uint32_t id = products_.intern(product_id, hash);
  if (products_.size() != before) {
    ProductInfo info;
    info.catalog = catalog_ ? catalog_->find(product_id) : nullptr;
    info.default_category =
        info.catalog && !info.catalog->category.empty() ? intern_category(info.catalog->category) : unknown_;
    info.last_given = info.default_category;
    products_info_.push_back(info);
  }
  return id;
}

std::uint32_t ProductDirectory::category_for(std::uint32_t product, std::string_view given) {
  ProductInfo& info = products_info_[product];
  if (given.empty()) return info.default_category;
  if (!same_bytes(category_names_[info.last_given], given)) info.last_given = intern_category(given);
  return info.last_given;
}

void ProductDirectory::encode(const Frozen& f, Encoder& out) {
  out.varint(f.categories.size);
  for (std::uint32_t i = 0; i < f.categories.size; ++i) out.str(f.categories.name(i));
  out.varint(f.products.size);
  for (std::uint32_t i = 0; i < f.products.size; ++i) out.str(f.products.name(i));
}

void ProductDirectory::decode(Decoder& in) {
  if (products_.size() != 0 || categories_.size() != 1) throw CodecError("directory: restore into a used engine");
  const std::size_t nc = in.count(1);
  for (std::size_t i = 0; i < nc; ++i) {
    if (intern_category(in.str()) != i) throw CodecError("directory: repeated category name");
  }
  const std::size_t np = in.count(1);
  products_info_.reserve(np);
  products_.reserve(np);
  for (std::size_t i = 0; i < np; ++i) {
    if (product(in.str()) != i) throw CodecError("directory: repeated product id");
  }
}

}  // namespace orderpulse
