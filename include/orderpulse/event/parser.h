#pragma once
// Turns raw record texts into validated Events: NDJSON with simdjson On-Demand, CSV through a
// header-derived schema; both go through the same field rules (build_event), so a record means the
// same whatever its format. Owns the simdjson parser; one instance per thread.

#include <simdjson.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orderpulse/engine/event_batch.h"
#include "orderpulse/event/event.h"

namespace orderpulse {

enum class Field : std::uint8_t {
  order_id,
  line,
  customer_id,
  product_id,
  category,
  quantity,
  unit_price,
  event_time,
  type,  // "restock" marks a restock record; any other value is an order line
  count_
};
inline constexpr std::size_t kFieldCount = static_cast<std::size_t>(Field::count_);

std::string_view to_string(Field f);
std::optional<Field> field_from_name(std::string_view name);

// A field value as found in the input, before validation. CSV cells are `text`: typeless, so
// "3" is a valid quantity there, while in JSON a quantity must be a JSON integer.
enum class ValueKind : std::uint8_t { absent, null, string, number, other, text };
struct RawValue {
  ValueKind kind = ValueKind::absent;
  std::string_view text;
};
using RawFields = std::array<RawValue, kFieldCount>;

// Applies the event-model rules (DESIGN.md "Event model") in field order; the first failing
// field names the reason. Views in `fields` must outlive `out`.
DropReason build_event(const RawFields& fields, Event& out);

// Column positions of the known fields in a CSV header.
struct CsvSchema {
  std::size_t columns = 0;
  std::array<int, kFieldCount> index{};  // -1 when the column is absent

  static CsvSchema from_header(const std::vector<std::string_view>& header);
};

class RecordParser {
 public:
  // Parses every record of a sealed batch into batch.events(), one Event per record in order.
  void parse(EventBatch& batch);

  // Parses one NDJSON text (padded to `capacity` readable bytes) into fields.
  DropReason parse_json(std::string_view text, std::size_t capacity, EventBatch& batch, RawFields& out);
  DropReason parse_csv(std::string_view text, const CsvSchema& schema, EventBatch& batch, RawFields& out);

 private:
  simdjson::ondemand::parser json_;
  std::vector<std::string_view> cells_;
  std::string scratch_;
};

}  // namespace orderpulse
