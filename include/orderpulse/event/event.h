#pragma once
// The event model: one record = one order line (DESIGN.md "Event model"), plus the closed set of
// reasons a record can be turned away for. Every record read ends up accepted or with a reason.

#include <cstdint>
#include <string_view>

#include "orderpulse/common/money.h"
#include "orderpulse/common/time.h"

namespace orderpulse {

// Ids are 1..64 characters (Unicode code points: up to 256 bytes of UTF-8).
inline constexpr std::size_t kMaxIdLength = 64;
inline constexpr std::int32_t kMaxQuantity = 10'000;

// Why a record was not accepted. The string forms (to_string) are the public vocabulary used in
// dropped.jsonl, summary.json and /metrics.
enum class DropReason : std::uint8_t {
  none = 0,
  malformed_json,
  malformed_csv,
  line_too_long,
  truncated,
  bad_timestamp,
  missing_order_id,
  missing_customer_id,
  missing_product_id,
  missing_unit_price,
  missing_event_time,
  bad_order_id,
  bad_line,
  bad_customer_id,
  bad_product_id,
  bad_category,
  bad_quantity,
  bad_unit_price,
  late,
  duplicate,
  count_  // number of reasons, not a reason
};

inline constexpr std::size_t kDropReasonCount = static_cast<std::size_t>(DropReason::count_);

std::string_view to_string(DropReason r);

// Rejected = failed validation; late and duplicate are counted apart (read = accepted +
// rejected + late + duplicate).
inline bool is_rejection(DropReason r) {
  return r != DropReason::none && r != DropReason::late && r != DropReason::duplicate;
}

enum class EventStatus : std::uint8_t { accepted, rejected, late, duplicate };

// An order line, or a restock of a catalog product ({"type":"restock","product_id":..,
// "quantity":..,"event_time":..}): inventory input carried in the stream itself, so stock, and the
// low-inventory alerts, depend on the record sequence alone (docs/alerts.md).
enum class EventKind : std::uint8_t { order, restock };

// A validated order line. String views point into the owning EventBatch.
struct Event {
  std::string_view order_id;
  std::string_view customer_id;
  std::string_view product_id;
  std::string_view category;  // empty until enriched: then the catalog's, or "unknown"
  TimestampMs event_time = 0;
  Cents unit_price = 0;
  std::int32_t quantity = 1;
  std::int32_t line = 1;
  // Hashes of the keys, taken on the parse thread while the record's bytes are still in its cache:
  // the engine thread then reaches its tables without touching the text first.
  std::uint64_t dedup_hash = 0;     // dedup_key_hash(order_id, line)
  std::uint64_t customer_hash = 0;  // stable_hash(customer_id)
  std::uint64_t product_hash = 0;   // stable_hash(product_id)
  std::uint32_t record = 0;  // index of the raw record in its batch
  std::uint32_t product_ref = 0;   // ProductDirectory ids, set by Enrichment
  std::uint32_t category_ref = 0;
  EventStatus status = EventStatus::accepted;
  DropReason reason = DropReason::none;
  EventKind kind = EventKind::order;

  Cents revenue() const { return unit_price * quantity; }
  // Sets the three hashes from the fields; build_event calls it for every valid record.
  void hash_keys();
};

// The dedup key's hash: never 0, which marks an empty dedup slot.
std::uint64_t dedup_key_hash(std::string_view order_id, std::int32_t line);

}  // namespace orderpulse
