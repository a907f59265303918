#pragma once
// What `orderpulse-sim olist` tells the user about its inputs: rows read and used per file, and
// every row it could not use, counted by file and reason. Owns only the counters.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "orderpulse/common/time.h"

namespace orderpulse::sim {

enum class Source : std::uint8_t { orders, items, products };
inline constexpr std::size_t kSources = 3;

// Why an input row was not turned into an event (or, for orders and products, not used).
enum class Skip : std::uint8_t {
  blank_row,
  bad_row,  // unparseable CSV, or a column count unlike the header's
  missing_order_id,
  missing_customer_id,
  missing_product_id,
  duplicate_order,
  duplicate_product,
  duplicate_item,  // same (order_id, order_item_id) again
  bad_item_id,
  bad_price,
  unknown_order,  // an item whose order is not in the orders file
  no_timestamp,
  bad_timestamp,
  none,  // not a reason: a usable row
};
inline constexpr std::size_t kSkipReasons = static_cast<std::size_t>(Skip::none);

std::string_view to_string(Skip s);

struct OlistReport {
  std::uint64_t events = 0;
  std::uint64_t orders_read = 0;  // data rows after the header, blank ones included
  std::uint64_t orders_used = 0;
  std::uint64_t items_read = 0;
  std::uint64_t products_read = 0;
  std::uint64_t products_used = 0;
  std::uint64_t catalog_products = 0;
  std::optional<TimestampMs> first_event_time;
  std::optional<TimestampMs> last_event_time;
  std::array<std::array<std::uint64_t, kSkipReasons>, kSources> skipped{};

  void count(Source s, Skip why) {
    if (why != Skip::none) ++skipped[static_cast<std::size_t>(s)][static_cast<std::size_t>(why)];
  }

  // One line, no trailing newline. "skipped" lists every reason (summed over files) so scripts
  // can rely on the keys; "skipped_by_file" lists the non-zero ones per file.
  std::string to_json() const;
};

}  // namespace orderpulse::sim
