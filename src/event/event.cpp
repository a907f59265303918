#include "orderpulse/event/event.h"

#include <array>

namespace orderpulse {

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
