#pragma once
// A final window as emitted to every sink (windows.jsonl, and later the WebSocket feed). One
// serializer, append_window_json, so all sinks print the same bytes.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "orderpulse/common/money.h"
#include "orderpulse/common/time.h"

namespace orderpulse {

struct ProductTotal {
  std::string product_id;
  CentsSum revenue = 0;
  std::int64_t items = 0;
};

struct CategoryTotal {
  std::string category;
  CentsSum revenue = 0;
};

struct WindowResult {
  std::size_t spec = 0;    // index in Config::windows
  std::string spec_name;   // "10m/1m"
  TimestampMs start = 0;
  TimestampMs end = 0;
  std::int64_t lines = 0;
  std::int64_t items = 0;
  std::int64_t orders = 0;
  CentsSum revenue = 0;
  std::uint64_t active_customers = 0;
  std::vector<ProductTotal> top_products;  // revenue desc, then product_id asc
  std::vector<CategoryTotal> categories;   // revenue desc, then name asc
};

// {"window":"10m/1m","start":...,"end":...,"lines":..,"items":..,"orders":..,"revenue":12.50,
//  "active_customers":..,"top_products":[...],"categories":[...]} without a newline.
void append_window_json(std::string& out, const WindowResult& w);

}  // namespace orderpulse
