#pragma once
// The product catalog: a reference table loaded at start (CSV: product_id, category, stock,
// reorder_level). Immutable after loading and shared read-only; live stock is tracked by the
// Enrichment operator, not here.

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace orderpulse {

struct CatalogEntry {
  std::string_view product_id;  // stable for the catalog's lifetime
  std::string_view category;  // empty when the catalog has none for this product
  // Whether the catalog gives this product's stock: a catalog without a stock column, or an empty
  // cell, says nothing about it, and an untracked product never raises a stock alert.
  bool tracked = false;
  std::int64_t stock = 0;
  std::int64_t reorder_level = 0;  // 0 when not given
};

class Catalog {
 public:
  // Stock and reorder levels are whole numbers up to 10^15.
  static constexpr std::int64_t kMaxCount = 1'000'000'000'000'000;

  // Throws std::runtime_error with a one-line message naming the file, line and problem.
  static Catalog load_csv(const std::string& path);

  const CatalogEntry* find(std::string_view product_id) const {
    auto it = entries_.find(product_id);
    return it == entries_.end() ? nullptr : &it->second;
  }
  std::size_t size() const { return entries_.size(); }
  // A hash of the content, whatever the row order: a checkpoint notes which catalog it ran with.
  std::uint64_t fingerprint() const;

 private:
  static Catalog read_csv(const std::string& path);
  std::string_view store(std::string_view s) { return strings_.emplace_back(s); }

  absl::flat_hash_map<std::string_view, CatalogEntry> entries_;
  std::deque<std::string> strings_;
};

}  // namespace orderpulse
