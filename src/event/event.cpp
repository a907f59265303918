#include "orderpulse/event/event.h"

#include <array>

#include "orderpulse/common/hash.h"

namespace orderpulse {

std::uint64_t dedup_key_hash(std::string_view order_id, std::int32_t line) {
  const std::uint64_t h = stable_hash(order_id, static_cast<std::uint64_t>(static_cast<std::uint32_t>(line)));
  return h == 0 ? 1 : h;
}

void Event::hash_keys() {
  dedup_hash = dedup_key_hash(order_id, line);
  customer_hash = stable_hash(customer_id);
  product_hash = stable_hash(product_id);
}

std::string_view to_string(DropReason r) {
  static constexpr std::array<std::string_view, kDropReasonCount> kNames = {
      "none",
      "malformed_json",
      "malformed_csv",
      "line_too_long",
      "truncated",
      "bad_timestamp",
      "missing_field:order_id",
      "missing_field:customer_id",
      "missing_field:product_id",
      "missing_field:unit_price",
      "missing_field:event_time",
      "bad_value:order_id",
      "bad_value:line",
      "bad_value:customer_id",
      "bad_value:product_id",
      "bad_value:category",
      "bad_value:quantity",
      "bad_value:unit_price",
      "late",
      "duplicate",
  };
  return kNames[static_cast<std::size_t>(r)];
}

}  // namespace orderpulse
