#include "orderpulse/common/unique_fd.h"
#include "orderpulse/state/catalog.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "orderpulse/common/bytes.h"
#include "orderpulse/common/hash.h"
#include "orderpulse/event/csv.h"
#include "orderpulse/ingest/record_reader.h"

namespace orderpulse {
namespace {

// A count cell: empty (nullopt) or a whole number from 0 to kMaxCount.
std::optional<std::int64_t> parse_count(std::string_view s, const std::string& where, const char* column) {
  s = trim_blanks(s);
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v > Catalog::kMaxCount)
    throw std::runtime_error(where + ": bad " + column + " '" + std::string(s) + "' (a whole number from 0 to 10^15)");
  return v;
}

}  // namespace

Catalog Catalog::load_csv(const std::string& path) {
  try {
    return read_csv(path);
  } catch (const std::system_error& e) {  // a read() failure: a directory, an I/O error
    throw std::runtime_error("catalog " + path + ": " + e.what());
  }
}

Catalog Catalog::read_csv(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw std::runtime_error("catalog " + path + ": " + std::strerror(errno));
  RecordReader reader(fd.get(), Framing::csv, 1 << 20);
  FramedRecord rec;
  std::vector<std::string_view> cells;
  std::string scratch;
  Catalog catalog;
  int col_id = -1, col_cat = -1, col_stock = -1, col_reorder = -1;
  std::size_t columns = 0;
  bool header = true;
  while (reader.next(rec)) {
    const std::string where = "catalog " + path + ":" + std::to_string(rec.line);
    if (rec.too_long) throw std::runtime_error(where + ": line longer than 1 MiB");
    if (is_blank_record(rec.text, Framing::csv)) continue;
    if (!split_csv_record(rec.text, cells, scratch)) throw std::runtime_error(where + ": malformed CSV row");
    if (header) {
      columns = cells.size();
      for (std::size_t i = 0; i < cells.size(); ++i) {
        const int c = static_cast<int>(i);
        const std::string_view name = trim_blanks(cells[i]);
        if (name == "product_id") col_id = c;
        else if (name == "category" || name == "product_category_name") col_cat = c;
        else if (name == "stock") col_stock = c;
        else if (name == "reorder_level") col_reorder = c;
      }
      if (col_id < 0) throw std::runtime_error(where + ": header has no product_id column");
      header = false;
      continue;
    }
    if (cells.size() != columns)
      throw std::runtime_error(where + ": expected " + std::to_string(columns) + " fields, found " +
                               std::to_string(cells.size()));
    auto cell = [&](int c) { return c < 0 ? std::string_view{} : cells[static_cast<std::size_t>(c)]; };
    // Ids and categories are taken as written, as in records; a cell of blanks only is empty.
    std::string_view id = cell(col_id);
    if (trim_blanks(id).empty()) throw std::runtime_error(where + ": empty product_id");
    CatalogEntry e;
    if (!trim_blanks(cell(col_cat)).empty()) e.category = catalog.store(cell(col_cat));
    const std::optional<std::int64_t> stock = parse_count(cell(col_stock), where, "stock");
    e.tracked = stock.has_value();
    e.stock = stock.value_or(0);
    e.reorder_level = parse_count(cell(col_reorder), where, "reorder_level").value_or(0);
    const std::string_view key = catalog.store(id);
    e.product_id = key;
    catalog.entries_.insert_or_assign(key, e);
  }
  if (header) throw std::runtime_error("catalog " + path + ": empty file (no header)");
  return catalog;
}

std::uint64_t Catalog::fingerprint() const {
  std::vector<const CatalogEntry*> rows;
  rows.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) rows.push_back(&entry);
  std::sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) { return a->product_id < b->product_id; });
  std::uint64_t h = 0x6f7264657270756cULL;
  for (const CatalogEntry* e : rows) {
    h = stable_hash(e->product_id, h);
    h = stable_hash(e->category, h);
    h = stable_hash(e->tracked ? std::to_string(e->stock) + "," + std::to_string(e->reorder_level) : std::string("-"), h);
  }
  return h;
}

}  // namespace orderpulse
