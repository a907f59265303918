#include "orderpulse/event/parser.h"

#include <charconv>

#include "orderpulse/event/csv.h"

namespace orderpulse {
namespace {

constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "order_id", "line", "customer_id", "product_id", "category", "quantity", "unit_price", "event_time", "type"};

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool is_missing(const RawValue& v) {
  return v.kind == ValueKind::absent || v.kind == ValueKind::null ||
         (v.kind == ValueKind::text && trim_ws(v.text).empty());
}

// An identifier: a JSON string or CSV text of 1..64 bytes.
DropReason check_id(const RawValue& v, std::string_view& out, DropReason missing, DropReason bad) {
  if (is_missing(v)) return missing;
  if (v.kind != ValueKind::string && v.kind != ValueKind::text) return bad;
  if (v.text.empty() || v.text.size() > kMaxIdLength) return bad;
  out = v.text;
  return DropReason::none;
}

// An optional integer in [lo, hi]; absent keeps the default.
DropReason check_int(const RawValue& v, std::int32_t lo, std::int32_t hi, std::int32_t& out, DropReason bad) {
  if (is_missing(v)) return DropReason::none;
  if (v.kind != ValueKind::number && v.kind != ValueKind::text) return bad;
  std::string_view s = trim_ws(v.text);
  std::int64_t value = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || p != s.data() + s.size() || value < lo || value > hi) return bad;
  out = static_cast<std::int32_t>(value);
  return DropReason::none;
}

}  // namespace

std::string_view to_string(Field f) { return kFieldNames[static_cast<std::size_t>(f)]; }

std::optional<Field> field_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kFieldCount; ++i)
    if (kFieldNames[i] == name) return static_cast<Field>(i);
  return std::nullopt;
}

namespace {

bool is_restock(const RawValue& v) { return (v.kind == ValueKind::string || v.kind == ValueKind::text) && trim_ws(v.text) == "restock"; }

// A restock needs only the product, the quantity added and the event time.
DropReason build_restock(const RawFields& f, Event& e) {
  auto at = [&f](Field x) -> const RawValue& { return f[static_cast<std::size_t>(x)]; };
  DropReason r;
  e.kind = EventKind::restock;
  e.order_id = {};
  e.customer_id = {};
  e.category = {};
  e.line = 1;
  e.unit_price = 0;
  if ((r = check_id(at(Field::product_id), e.product_id, DropReason::missing_product_id, DropReason::bad_product_id)) != DropReason::none) return r;
  e.quantity = 1;
  if ((r = check_int(at(Field::quantity), 1, kMaxQuantity * 1000, e.quantity, DropReason::bad_quantity)) != DropReason::none) return r;
  const RawValue& time = at(Field::event_time);
  if (is_missing(time)) return DropReason::missing_event_time;
  if (time.kind != ValueKind::number && time.kind != ValueKind::string && time.kind != ValueKind::text)
    return DropReason::bad_timestamp;
  auto t = parse_timestamp(time.text);
  if (!t) return DropReason::bad_timestamp;
  e.event_time = *t;
  e.hash_keys();
  return DropReason::none;
}

}  // namespace

DropReason build_event(const RawFields& f, Event& e) {
  auto at = [&f](Field x) -> const RawValue& { return f[static_cast<std::size_t>(x)]; };
  if (at(Field::type).kind != ValueKind::absent && is_restock(at(Field::type))) return build_restock(f, e);
  e.kind = EventKind::order;
  DropReason r;
  if ((r = check_id(at(Field::order_id), e.order_id, DropReason::missing_order_id, DropReason::bad_order_id)) != DropReason::none) return r;
  e.line = 1;
  if ((r = check_int(at(Field::line), 1, std::numeric_limits<std::int32_t>::max(), e.line, DropReason::bad_line)) != DropReason::none) return r;
  if ((r = check_id(at(Field::customer_id), e.customer_id, DropReason::missing_customer_id, DropReason::bad_customer_id)) != DropReason::none) return r;
  if ((r = check_id(at(Field::product_id), e.product_id, DropReason::missing_product_id, DropReason::bad_product_id)) != DropReason::none) return r;
  const RawValue& cat = at(Field::category);
  e.category = {};
  if (!is_missing(cat)) {
    if ((cat.kind != ValueKind::string && cat.kind != ValueKind::text) || cat.text.size() > kMaxIdLength)
      return DropReason::bad_category;
    e.category = cat.text;
  }
  e.quantity = 1;
  if ((r = check_int(at(Field::quantity), 1, kMaxQuantity, e.quantity, DropReason::bad_quantity)) != DropReason::none) return r;
  const RawValue& price = at(Field::unit_price);
  if (is_missing(price)) return DropReason::missing_unit_price;
  if (price.kind != ValueKind::number && price.kind != ValueKind::string && price.kind != ValueKind::text)
    return DropReason::bad_unit_price;
  auto cents = parse_decimal_cents(trim_ws(price.text));
  if (!cents || *cents < 0) return DropReason::bad_unit_price;
  e.unit_price = *cents;
  const RawValue& time = at(Field::event_time);
  if (is_missing(time)) return DropReason::missing_event_time;
  if (time.kind != ValueKind::number && time.kind != ValueKind::string && time.kind != ValueKind::text)
    return DropReason::bad_timestamp;
  auto t = parse_timestamp(time.text);
  if (!t) return DropReason::bad_timestamp;
  e.event_time = *t;
  e.hash_keys();
  return DropReason::none;
}

CsvSchema CsvSchema::from_header(const std::vector<std::string_view>& header) {
  CsvSchema s;
  s.columns = header.size();
  s.index.fill(-1);
  for (std::size_t i = 0; i < header.size(); ++i) {
    auto f = field_from_name(trim_ws(header[i]));
    if (f && s.index[static_cast<std::size_t>(*f)] < 0) s.index[static_cast<std::size_t>(*f)] = static_cast<int>(i);
  }
  return s;
}

DropReason RecordParser::parse_json(std::string_view text, std::size_t capacity, EventBatch& batch,
                                    RawFields& out) {
  using namespace simdjson;
  out.fill(RawValue{});
  ondemand::document doc;
  if (json_.iterate(padded_string_view(text.data(), text.size(), capacity)).get(doc)) return DropReason::malformed_json;
  ondemand::object obj;
  if (doc.get_object().get(obj)) return DropReason::malformed_json;
  for (auto field_result : obj) {
    ondemand::field field;
    if (std::move(field_result).get(field)) return DropReason::malformed_json;
    ondemand::raw_json_string key = field.key();
    std::optional<Field> which;
    switch (key.raw()[0]) {
      case 'o': if (key == "order_id") which = Field::order_id; break;
      case 'l': if (key == "line") which = Field::line; break;
      case 'c':
        if (key == "customer_id") which = Field::customer_id;
        else if (key == "category") which = Field::category;
        break;
      case 'p': if (key == "product_id") which = Field::product_id; break;
      case 'q': if (key == "quantity") which = Field::quantity; break;
      case 'u': if (key == "unit_price") which = Field::unit_price; break;
      case 'e': if (key == "event_time") which = Field::event_time; break;
      case 't': if (key == "type") which = Field::type; break;
      default: break;
    }
    if (!which) continue;  // unknown fields are ignored (and skipped by the iterator)
    ondemand::value value = field.value();
    ondemand::json_type type;
    if (value.type().get(type)) return DropReason::malformed_json;
    RawValue& rv = out[static_cast<std::size_t>(*which)];
    switch (type) {
      case ondemand::json_type::string: {
        std::string_view token = trim_ws(value.raw_json_token());
        std::string_view inner = token.size() >= 2 ? token.substr(1, token.size() - 2) : std::string_view{};
        // Ids are short: a plain loop beats a call to memchr here.
        bool escaped = false;
        for (char c : inner) escaped |= c == '\\';
        if (!escaped) {
          rv = {ValueKind::string, inner};  // points into the batch arena: no copy
        } else {
          std::string_view unescaped;
          if (value.get_string().get(unescaped)) return DropReason::malformed_json;
          rv = {ValueKind::string, batch.keep(unescaped)};
        }
        break;
      }
      case ondemand::json_type::number:
        rv = {ValueKind::number, trim_ws(value.raw_json_token())};
        break;
      case ondemand::json_type::null:
        rv = {ValueKind::null, {}};
        break;
      default:
        rv = {ValueKind::other, {}};
        break;
    }
  }
  // Anything after the closing brace (a second object, garbage) makes the line malformed.
  const char* rest = nullptr;
  if (!doc.current_location().get(rest)) return DropReason::malformed_json;
  return DropReason::none;
}

DropReason RecordParser::parse_csv(std::string_view text, const CsvSchema& schema, EventBatch& batch,
                                   RawFields& out) {
  out.fill(RawValue{});
  if (!split_csv_record(text, cells_, scratch_) || cells_.size() != schema.columns) return DropReason::malformed_csv;
  const bool quoted = text.find('"') != std::string_view::npos;
  for (std::size_t f = 0; f < kFieldCount; ++f) {
    const int col = schema.index[f];
    if (col < 0) continue;
    std::string_view cell = cells_[static_cast<std::size_t>(col)];
    // Unquoted cells point into the batch arena; quoted ones live in scratch_ and must be kept.
    if (quoted && !cell.empty()) cell = batch.keep(cell);
    out[f] = {ValueKind::text, cell};
  }
  return DropReason::none;
}

void RecordParser::parse(EventBatch& batch) {
  auto& events = batch.events();
  events.resize(batch.size());
  RawFields fields;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const RawRecord& rec = batch.record(i);
    Event& e = events[i];
    e.record = static_cast<std::uint32_t>(i);
    DropReason reason;
    if (rec.flag == RecordFlag::too_long) {
      reason = DropReason::line_too_long;
    } else if (rec.flag == RecordFlag::truncated) {
      reason = DropReason::truncated;
    } else if (rec.format.csv) {
      reason = parse_csv(batch.text(rec), *rec.format.csv, batch, fields);
    } else {
      reason = parse_json(batch.text(rec), batch.capacity(rec), batch, fields);
    }
    if (reason == DropReason::none) reason = build_event(fields, e);
    e.reason = reason;
    e.status = reason == DropReason::none ? EventStatus::accepted : EventStatus::rejected;
  }
  batch.mark_parsed();
}

}  // namespace orderpulse
