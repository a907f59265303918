#include "orderpulse/engine/window_result.h"

#include "orderpulse/common/json_text.h"

namespace orderpulse {

void append_window_json(std::string& out, const WindowResult& w) {
  out += "{\"window\":";
  append_json_string(out, w.spec_name);
  out += ",\"start\":\"";
  append_iso8601(out, w.start);
  out += "\",\"end\":\"";
  append_iso8601(out, w.end);
  out += "\",\"lines\":";
  out += std::to_string(w.lines);
  out += ",\"items\":";
  out += std::to_string(w.items);
  out += ",\"orders\":";
  out += std::to_string(w.orders);
  out += ",\"revenue\":";
  append_json_money(out, w.revenue);
  out += ",\"active_customers\":";
  out += std::to_string(w.active_customers);
  out += ",\"top_products\":[";
  for (std::size_t i = 0; i < w.top_products.size(); ++i) {
    const auto& p = w.top_products[i];
    if (i) out.push_back(',');
    out += "{\"product_id\":";
    append_json_string(out, p.product_id);
    out += ",\"revenue\":";
    append_json_money(out, p.revenue);
    out += ",\"items\":";
    out += std::to_string(p.items);
    out.push_back('}');
  }
  out += "],\"categories\":[";
  for (std::size_t i = 0; i < w.categories.size(); ++i) {
    const auto& c = w.categories[i];
    if (i) out.push_back(',');
    out += "{\"category\":";
    append_json_string(out, c.category);
    out += ",\"revenue\":";
    append_json_money(out, c.revenue);
    out.push_back('}');
  }
  out += "]}";
}

}  // namespace orderpulse
