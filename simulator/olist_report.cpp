#include "olist_report.h"

#include <charconv>
#include <utility>

#include "orderpulse/common/json_text.h"

namespace orderpulse::sim {
namespace {

constexpr std::array<std::string_view, kSources> kSourceNames = {"orders", "items", "products"};
constexpr std::array<std::string_view, kSkipReasons> kSkipNames = {
    "blank_row",       "bad_row",           "missing_order_id", "missing_customer_id", "missing_product_id",
    "duplicate_order", "duplicate_product", "duplicate_item",   "bad_item_id",         "bad_price",
    "unknown_order",   "no_timestamp",      "bad_timestamp"};

void append_count(std::string& out, std::string_view key, std::uint64_t v) {
  append_json_string(out, key);
  out.push_back(':');
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_time(std::string& out, std::string_view key, TimestampMs t) {
  out.push_back(',');
  append_json_string(out, key);
  out.append(":\"");
  append_iso8601(out, t);
  out.push_back('"');
}

}  // namespace

std::string_view to_string(Skip s) { return kSkipNames[static_cast<std::size_t>(s)]; }

std::string OlistReport::to_json() const {
  std::string s = "{";
  const std::pair<std::string_view, std::uint64_t> totals[] = {
      {"events", events},         {"orders_read", orders_read},     {"orders_used", orders_used},
      {"items_read", items_read}, {"products_read", products_read}, {"products_used", products_used},
      {"catalog_products", catalog_products}};
  bool first = true;
  for (const auto& [key, value] : totals) {
    if (!first) s.push_back(',');
    first = false;
    append_count(s, key, value);
  }
  if (first_event_time) append_time(s, "first_event_time", *first_event_time);
  if (last_event_time) append_time(s, "last_event_time", *last_event_time);
  s.append(",\"skipped\":{");
  for (std::size_t r = 0; r < kSkipReasons; ++r) {
    std::uint64_t total = 0;
    for (const auto& per_file : skipped) total += per_file[r];
    if (r > 0) s.push_back(',');
    append_count(s, kSkipNames[r], total);
  }
  s.append("},\"skipped_by_file\":{");
  for (std::size_t f = 0; f < kSources; ++f) {
    if (f > 0) s.push_back(',');
    append_json_string(s, kSourceNames[f]);
    s.append(":{");
    bool first_reason = true;
    for (std::size_t r = 0; r < kSkipReasons; ++r) {
      if (skipped[f][r] == 0) continue;
      if (!first_reason) s.push_back(',');
      first_reason = false;
      append_count(s, kSkipNames[r], skipped[f][r]);
    }
    s.push_back('}');
  }
  s.append("}}");
  return s;
}

}  // namespace orderpulse::sim
