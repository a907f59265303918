#include "record.h"

#include <charconv>
#include <cstring>

#include "orderpulse/common/json_text.h"
#include "orderpulse/event/csv.h"

namespace orderpulse::sim {
namespace {

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void append_padded(std::string& out, char prefix, std::uint64_t v, int width) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  const int len = static_cast<int>(res.ptr - buf);
  out.push_back(prefix);
  if (len < width) out.append(static_cast<std::size_t>(width - len), '0');
  out.append(buf, res.ptr);
}

}  // namespace

void append_order_id(std::string& out, std::uint64_t order_no) { append_padded(out, 'o', order_no, 9); }
void append_customer_id(std::string& out, std::uint64_t customer_no) {
  append_padded(out, 'c', customer_no, 7);
}
void append_product_id(std::string& out, std::uint64_t product_no) {
  append_padded(out, 'p', product_no, 6);
}

RecordFields make_fields(const OrderLine& line, std::string_view category, std::string& scratch) {
  scratch.clear();
  std::size_t ends[7];
  append_order_id(scratch, line.order_no);
  ends[0] = scratch.size();
  append_uint(scratch, static_cast<std::uint64_t>(line.line));
  ends[1] = scratch.size();
  append_customer_id(scratch, line.customer_no);
  ends[2] = scratch.size();
  append_product_id(scratch, line.product_no);
  ends[3] = scratch.size();
  append_uint(scratch, static_cast<std::uint64_t>(line.quantity));
  ends[4] = scratch.size();
  append_cents(scratch, line.unit_price);
  ends[5] = scratch.size();
  append_iso8601(scratch, line.event_time);
  ends[6] = scratch.size();
  // Views are taken only now: earlier appends may have reallocated scratch.
  const std::string_view s = scratch;
  RecordFields r;
  r[Field::order_id] = {s.substr(0, ends[0]), true, true, true};
  r[Field::line] = {s.substr(ends[0], ends[1] - ends[0]), false, true, true};
  r[Field::customer_id] = {s.substr(ends[1], ends[2] - ends[1]), true, true, true};
  r[Field::product_id] = {s.substr(ends[2], ends[3] - ends[2]), true, true, true};
  r[Field::category] = {category, true, !category.empty()};  // caller's text: checked
  r[Field::quantity] = {s.substr(ends[3], ends[4] - ends[3]), false, true, true};
  r[Field::unit_price] = {s.substr(ends[4], ends[5] - ends[4]), false, true, true};
  r[Field::event_time] = {s.substr(ends[5], ends[6] - ends[5]), true, true, true};
  r[Field::type] = {{}, true, false};  // an order: only restock records name their type
  return r;
}

void append_event_header(std::string& out) {
  for (std::size_t i = 0; i < kCsvFields; ++i) {
    if (i > 0) out.push_back(',');
    out.append(orderpulse::to_string(static_cast<Field>(i)));
  }
  out.push_back('\n');
}

namespace {

// True when `text` can be copied verbatim: inside a JSON string (no quote, backslash, control or
// non-ASCII byte) or as a bare CSV field (no comma, quote, CR, LF).
bool is_plain(std::string_view text, OutputFormat format) {
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (format == OutputFormat::csv ? (c == ',' || c == '"' || c == '\r' || c == '\n')
                                    : (c < 0x20 || c >= 0x7F || c == '"' || c == '\\')) {
      return false;
    }
  }
  return true;
}

void append_record_escaped(std::string& out, OutputFormat format, const RecordFields& fields) {
  if (format == OutputFormat::csv) {
    for (std::size_t i = 0; i < kCsvFields; ++i) {
      if (i > 0) out.push_back(',');
      if (fields.f[i].present) append_csv_field(out, fields.f[i].text);
    }
    out.push_back('\n');
    return;
  }
  out.push_back('{');
  bool first = true;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const FieldText& field = fields.f[i];
    if (!field.present) continue;
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    out.append(orderpulse::to_string(static_cast<Field>(i)));
    out.append("\":");
    if (field.is_string) {
      append_json_string(out, field.text);
    } else {
      out.append(field.text);
    }
  }
  out.append("}\n");
}

}  // namespace

// Generating millions of records is dominated by this function, so the common case (short
// fields needing no escaping) is assembled in a stack buffer and appended once.
void append_record(std::string& out, OutputFormat format, const RecordFields& fields) {
  constexpr std::size_t kFastLimit = 512;
  char buf[kFastLimit + 256];
  char* p = buf;
  const auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  bool first = true;
  if (format == OutputFormat::ndjson) *p++ = '{';
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const FieldText& field = fields.f[i];
    if (field.text.size() > 64 || static_cast<std::size_t>(p - buf) > kFastLimit ||
        (field.present && !field.plain && !is_plain(field.text, format))) {
      append_record_escaped(out, format, fields);
      return;
    }
    if (format == OutputFormat::csv) {
      if (i == kCsvFields) break;
      if (i > 0) *p++ = ',';
      if (field.present) put(field.text);
      continue;
    }
    if (!field.present) continue;
    if (!first) *p++ = ',';
    first = false;
    *p++ = '"';
    put(orderpulse::to_string(static_cast<Field>(i)));
    *p++ = '"';
    *p++ = ':';
    if (field.is_string) *p++ = '"';
    put(field.text);
    if (field.is_string) *p++ = '"';
  }
  if (format == OutputFormat::ndjson) *p++ = '}';
  *p++ = '\n';
  out.append(buf, static_cast<std::size_t>(p - buf));
}

}  // namespace orderpulse::sim
