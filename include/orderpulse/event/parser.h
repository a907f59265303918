#pragma once
// Turns raw record texts into validated Events: NDJSON with simdjson On-Demand, CSV through a
// header-derived schema; both go through the same field rules (build_event), so a record means the
// same whatever its format. Owns the simdjson parser and its buffers; one instance per thread (it
// runs on whichever thread calls parse(): the parse stage's, or the engine's).
//
// NDJSON records of a batch are parsed a window of consecutive lines at a time (one simdjson stage 1
// per window rather than per line, see parse_json_window); a line whose parse cannot be shown to
// equal its parse alone is parsed alone, so the result is always that of a line-by-line parse.

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

// Per key position of a JSON object (the first 16), the field that position last held.
using KeyOrder = std::array<Field, 16>;
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
  // A window is one stage 1 batch (never longer than kWindowBytes), so simdjson's stage 1 thread
  // has nothing to do; off, it can never be started behind the caller's back.
  RecordParser() { json_.threaded = false; }

  // Parses every record of a sealed batch into batch.events(), one Event per record in order.
  void parse(EventBatch& batch);

  // Parses one NDJSON text (padded to `capacity` readable bytes) into fields.
  DropReason parse_json(std::string_view text, std::size_t capacity, EventBatch& batch, RawFields& out);
  DropReason parse_csv(std::string_view text, const CsvSchema& schema, EventBatch& batch, RawFields& out);

  // Upper bound on a window's text (its lines plus the line after them). Also the capacity the
  // simdjson parser keeps: iterate_many() reallocates whenever asked for a different one.
  static constexpr std::size_t kWindowBytes = 64 << 10;
  // Lines per window: a bad line costs a new stage 1 over the rest of its window.
  static constexpr std::size_t kWindowLines = 128;

 private:
  // Parses one record alone (any format, any flag) into events[i].
  void parse_one(EventBatch& batch, std::size_t i, RawFields& fields);
  // Parses records [first, last), all NDJSON without flags and adjacent in the arena.
  void parse_json_run(EventBatch& batch, std::size_t first, std::size_t last);
  // Parses records [first, sentinel) from one stage 1 over their text and the sentinel's; returns
  // how many leading records it could vouch for (their events are set), the rest are untouched.
  std::size_t parse_json_window(EventBatch& batch, std::size_t first, std::size_t sentinel);

  simdjson::ondemand::parser json_;
  // The field the key at each position of the last JSON object named (Field::count_: none).
  // Producers write their keys in one order, so the next record's key at a position is first
  // checked against that one field: one well-predicted compare. Dispatching on the key's first
  // byte, an indirect jump, was the hottest spot of the field walk in perf's samples.
  KeyOrder key_order_ = [] {
    KeyOrder o;
    o.fill(Field::count_);
    return o;
  }();
  std::vector<std::string_view> cells_;
  std::string scratch_;
};

}  // namespace orderpulse
