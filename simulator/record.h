#pragma once
// How one order-line event is written, in the field order the engine documents:
// order_id,line,customer_id,product_id,category,quantity,unit_price,event_time. Both the
// generator (valid and deliberately broken records) and the Olist converter write through
// append_record, so the two formats can never drift apart.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "orderpulse/common/money.h"
#include "orderpulse/common/time.h"
#include "orderpulse/event/parser.h"
#include "output.h"

namespace orderpulse::sim {

// The event fields and their order are the engine's (orderpulse::Field in event/parser.h).
using orderpulse::Field;
using orderpulse::kFieldCount;
// Event files carry the order fields only: `type` (last) is written just on restock records, and
// so never in CSV.
inline constexpr std::size_t kCsvFields = static_cast<std::size_t>(Field::type);
static_assert(kCsvFields + 1 == kFieldCount, "type must stay the last field");

// One field's text. `is_string` quotes it in JSON; an absent field is omitted from the JSON
// object and written as an empty cell in CSV. `plain` promises the text needs no JSON escaping
// or CSV quoting (generated ids, digits, times), which saves scanning it on the hot path.
struct FieldText {
  std::string_view text;
  bool is_string = true;
  bool present = true;
  bool plain = false;
};

// Views only: the texts belong to whoever built the record (see make_fields).
struct RecordFields {
  std::array<FieldText, kFieldCount> f;
  FieldText& operator[](Field field) { return f[static_cast<std::size_t>(field)]; }
  const FieldText& operator[](Field field) const { return f[static_cast<std::size_t>(field)]; }
};

// A generated order line in numbers; ids are 1-based sequence numbers.
struct OrderLine {
  std::uint64_t order_no = 0;
  std::int32_t line = 1;
  std::uint64_t customer_no = 0;
  std::uint64_t product_no = 0;
  std::int32_t quantity = 1;
  Cents unit_price = 0;
  TimestampMs event_time = 0;
};

// "o000000123" / "c0000042" / "p000017": fixed widths keep ids sortable; larger numbers simply
// get more digits.
void append_order_id(std::string& out, std::uint64_t order_no);
void append_customer_id(std::string& out, std::uint64_t customer_no);
void append_product_id(std::string& out, std::uint64_t product_no);

// Formats `line` into `scratch` (cleared first) and returns views into it, valid until scratch
// is next modified.
RecordFields make_fields(const OrderLine& line, std::string_view category, std::string& scratch);

// CSV header line for event files.
void append_event_header(std::string& out);

// One record followed by '\n'.
void append_record(std::string& out, OutputFormat format, const RecordFields& fields);

}  // namespace orderpulse::sim
