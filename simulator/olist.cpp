#include "olist.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/strings/string_view.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>
#include <vector>

#include "csv_table.h"
#include "errors.h"
#include "olist_report.h"
#include "orderpulse/common/money.h"
#include "orderpulse/common/time.h"
#include "orderpulse/event/csv.h"
#include "record.h"

namespace orderpulse::sim {
namespace {

// Olist exports carry either ISO-like "2017-10-02 10:56:33" or US "10/2/2017 10:56"; both are
// local Brazilian time in the source but are taken as UTC here (there is no zone to recover).
std::optional<TimestampMs> parse_olist_time(std::string_view text) {
  if (auto t = parse_timestamp(text)) return t;
  return parse_us_datetime(text);
}

// Debian's Abseil has its own string_view type, which its maps need for heterogeneous lookup.
absl::string_view key(std::string_view s) { return absl::string_view(s.data(), s.size()); }

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// Owns the joined tables (orders, the product catalog), the events built from order items and
// the per-file skip counters.
class OlistConverter {
 public:
  void read_orders(const std::string& path) {
    CsvTable t(path, {"order_id", "customer_id", "order_purchase_timestamp"});
    RowKind kind;
    while (t.next(kind)) {
      const Skip why = order_row(t, kind);
      report_.count(Source::orders, why);
      report_.orders_read = t.rows();
    }
  }

  void read_products(const std::string& path) {
    CsvTable t(path, {"product_id", "product_category_name"});
    RowKind kind;
    while (t.next(kind)) {
      Skip why = kind == RowKind::blank ? Skip::blank_row : kind == RowKind::bad ? Skip::bad_row : Skip::none;
      if (why == Skip::none && t.field(0).empty()) why = Skip::missing_product_id;
      if (why == Skip::none) {
        const auto [it, inserted] = product_index_.try_emplace(key(t.field(0)), catalog_.size());
        if (inserted) {
          catalog_.push_back({std::string(t.field(0)), std::string(t.field(1)), 0});
          ++report_.products_used;
        } else {
          why = Skip::duplicate_product;
        }
      }
      report_.count(Source::products, why);
      report_.products_read = t.rows();
    }
  }

  void read_items(const std::string& path) {
    CsvTable t(path, {"order_id", "order_item_id", "product_id", "price"});
    RowKind kind;
    while (t.next(kind)) {
      report_.count(Source::items, item_row(t, kind));
      report_.items_read = t.rows();
    }
    // Stable: items with equal purchase times (one order's items) keep their file order.
    std::stable_sort(events_.begin(), events_.end(),
                     [](const Event& a, const Event& b) { return a.time < b.time; });
  }

  void write_events(OutputFile& out, OutputFormat format) const {
    std::string& buf = out.buffer();
    if (format == OutputFormat::csv) append_event_header(buf);
    std::string line, price, time;
    for (const Event& e : events_) {
      const Order& o = orders_[e.order];
      const CatalogEntry& p = catalog_[e.product];
      line.clear();
      append_uint(line, static_cast<std::uint64_t>(e.line));
      price.clear();
      append_cents(price, e.price);
      time.clear();
      append_iso8601(time, e.time);
      RecordFields r;
      r[Field::order_id] = {o.id};
      r[Field::line] = {line, false};
      r[Field::customer_id] = {o.customer_id};
      r[Field::product_id] = {p.product_id};
      r[Field::category] = {p.category, true, !p.category.empty()};
      r[Field::quantity] = {"1", false};
      r[Field::unit_price] = {price, false};
      r[Field::event_time] = {time};
      r[Field::type] = {{}, true, false};  // an order line: no type
      append_record(buf, format, r);
      out.maybe_flush();
    }
  }

  // Olist has no inventory, so stock is synthesized: 100 + 2 x units sold in this data, which
  // keeps every product above its reorder level at the start and lets best sellers run down.
  std::string catalog_csv() const {
    std::string s = "product_id,category,stock,reorder_level\n";
    for (const CatalogEntry& p : catalog_) {
      append_csv_field(s, p.product_id);
      s.push_back(',');
      append_csv_field(s, p.category.empty() ? std::string_view("unknown") : std::string_view(p.category));
      s.push_back(',');
      append_uint(s, 100 + 2 * p.sold);
      s.append(",10\n");
    }
    return s;
  }

  OlistReport report() const {
    OlistReport r = report_;
    r.events = events_.size();
    r.catalog_products = catalog_.size();
    if (!events_.empty()) {
      r.first_event_time = events_.front().time;
      r.last_event_time = events_.back().time;
    }
    return r;
  }

 private:
  struct Order {
    std::string id;
    std::string customer_id;
    TimestampMs time = 0;
    Skip problem = Skip::none;  // kept so its items are skipped for the order's reason
  };
  struct CatalogEntry {
    std::string product_id;
    std::string category;  // empty when unknown or blank in the products file
    std::uint64_t sold = 0;
  };
  struct Event {
    TimestampMs time;
    std::uint32_t order;
    std::uint32_t product;
    std::int32_t line;
    Cents price;
  };

  Skip order_row(const CsvTable& t, RowKind kind) {
    if (kind == RowKind::blank) return Skip::blank_row;
    if (kind == RowKind::bad) return Skip::bad_row;
    if (t.field(0).empty()) return Skip::missing_order_id;
    const auto [it, inserted] = order_index_.try_emplace(key(t.field(0)), static_cast<std::uint32_t>(orders_.size()));
    if (!inserted) return Skip::duplicate_order;
    Order o{std::string(t.field(0)), std::string(t.field(1)), 0, Skip::none};
    const std::optional<TimestampMs> time = parse_olist_time(t.field(2));
    if (o.customer_id.empty()) {
      o.problem = Skip::missing_customer_id;
    } else if (t.field(2).empty()) {
      o.problem = Skip::no_timestamp;
    } else if (!time) {
      o.problem = Skip::bad_timestamp;
    } else {
      o.time = *time;
      ++report_.orders_used;
    }
    const Skip problem = o.problem;
    orders_.push_back(std::move(o));
    return problem;
  }

  Skip item_row(const CsvTable& t, RowKind kind) {
    if (kind == RowKind::blank) return Skip::blank_row;
    if (kind == RowKind::bad) return Skip::bad_row;
    const std::string_view order_id = t.field(0), item_id = t.field(1), product_id = t.field(2);
    if (order_id.empty()) return Skip::missing_order_id;
    if (product_id.empty()) return Skip::missing_product_id;
    // Any structurally sound item names a product the catalog should list.
    const auto [pit, new_product] = product_index_.try_emplace(key(product_id), catalog_.size());
    if (new_product) catalog_.push_back({std::string(product_id), std::string(), 0});
    std::int32_t line = 0;
    const auto [end, ec] = std::from_chars(item_id.data(), item_id.data() + item_id.size(), line);
    if (ec != std::errc() || end != item_id.data() + item_id.size() || line < 1) return Skip::bad_item_id;
    Cents price = 0;
    if (!parse_price_cents(t.field(3), price)) return Skip::bad_price;
    const auto oit = order_index_.find(key(order_id));
    if (oit == order_index_.end()) return Skip::unknown_order;
    const Order& o = orders_[oit->second];
    if (o.problem != Skip::none) return o.problem;
    const std::uint64_t key = (static_cast<std::uint64_t>(oit->second) << 32) | static_cast<std::uint32_t>(line);
    if (!seen_items_.insert(key).second) return Skip::duplicate_item;
    ++catalog_[pit->second].sold;
    events_.push_back({o.time, oit->second, static_cast<std::uint32_t>(pit->second), line, price});
    return Skip::none;
  }

  std::vector<Order> orders_;
  absl::flat_hash_map<std::string, std::uint32_t> order_index_;
  std::vector<CatalogEntry> catalog_;
  absl::flat_hash_map<std::string, std::size_t> product_index_;
  absl::flat_hash_set<std::uint64_t> seen_items_;
  std::vector<Event> events_;
  OlistReport report_;  // counters; events and catalog size are filled in by report()
};

std::string default_catalog_path(const std::string& out) {
  if (out == "-") return "catalog.csv";
  return (std::filesystem::path(out).parent_path() / "catalog.csv").string();
}

}  // namespace

std::string run_olist(const OlistOptions& o) {
  const std::string catalog_path = o.catalog_out.empty() ? default_catalog_path(o.out) : o.catalog_out;
  if (catalog_path == o.out) throw UsageError("the catalog would overwrite --out; pass --catalog-out");
  const std::filesystem::path dir(o.dir);
  OlistConverter conv;
  conv.read_orders((dir / "olist_orders_dataset.csv").string());
  conv.read_products(o.products.empty() ? (dir / "olist_products_dataset.csv").string() : o.products);
  conv.read_items((dir / "olist_order_items_dataset.csv").string());
  // Outputs are opened only after every input was read, so a bad input never truncates them.
  OutputFile out(o.out);
  conv.write_events(out, o.format);
  out.close();
  write_whole_file(catalog_path, conv.catalog_csv());
  std::string report = conv.report().to_json();
  if (o.out != "-") write_whole_file(o.out + ".report.json", report + "\n");
  return report;
}

}  // namespace orderpulse::sim
