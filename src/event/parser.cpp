#include "orderpulse/event/parser.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "orderpulse/event/csv.h"

namespace orderpulse {
namespace {

constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "order_id", "line", "customer_id", "product_id", "category", "quantity", "unit_price", "event_time", "type"};

[[gnu::noinline]] std::string_view trim_ws_slow(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Called for nearly every value, which has no blank at either end (bytes above ' ' are never
// blanks): that test is inlined, the trimming loops are not.
[[gnu::always_inline]] inline std::string_view trim_ws(std::string_view s) {
  if (!s.empty() && static_cast<unsigned char>(s.front()) > ' ' && static_cast<unsigned char>(s.back()) > ' ') return s;
  return trim_ws_slow(s);
}

bool is_missing(const RawValue& v) {
  return v.kind == ValueKind::absent || v.kind == ValueKind::null ||
         (v.kind == ValueKind::text && trim_ws(v.text).empty());
}

// Characters (code points) in UTF-8 text: the bytes that do not continue a sequence.
[[gnu::noinline]] std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// An identifier: a JSON string or CSV text of 1..64 characters. Up to 64 bytes it cannot be
// longer; only a longer one is counted.
DropReason check_id(const RawValue& v, std::string_view& out, DropReason missing, DropReason bad) {
  if (is_missing(v)) return missing;
  if (v.kind != ValueKind::string && v.kind != ValueKind::text) return bad;
  if (v.text.empty() || (v.text.size() > kMaxIdLength && utf8_length(v.text) > kMaxIdLength)) return bad;
  out = v.text;
  return DropReason::none;
}

// The required event time: a JSON number or string, or CSV text, in a form parse_timestamp takes.
DropReason check_time(const RawValue& v, TimestampMs& out) {
  if (is_missing(v)) return DropReason::missing_event_time;
  if (v.kind != ValueKind::number && v.kind != ValueKind::string && v.kind != ValueKind::text) return DropReason::bad_timestamp;
  return parse_timestamp(v.text, out) ? DropReason::none : DropReason::bad_timestamp;
}

// An optional integer in [lo, hi]; absent keeps the default. The general path: trimming and
// from_chars.
[[gnu::noinline]] DropReason check_int_slow(const RawValue& v, std::int32_t lo, std::int32_t hi, std::int32_t& out,
                                            DropReason bad) {
  if (is_missing(v)) return DropReason::none;
  if (v.kind != ValueKind::number && v.kind != ValueKind::text) return bad;
  const std::string_view t = trim_ws(v.text);
  std::int64_t value = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (ec != std::errc() || p != t.data() + t.size()) return bad;
  if (value < lo || value > hi) return bad;
  out = static_cast<std::int32_t>(value);
  return DropReason::none;
}

// Nearly every line and quantity is a few bare digits: those are read here, inlined (nine digits
// cannot overflow); anything else, absent values included, takes the general path, whose
// from_chars gives bare digits the same value, so both accept and reject the same texts.
[[gnu::always_inline]] inline DropReason check_int(const RawValue& v, std::int32_t lo, std::int32_t hi, std::int32_t& out,
                                                   DropReason bad) {
  const std::string_view s = v.text;
  if ((v.kind == ValueKind::number || v.kind == ValueKind::text) && !s.empty() && s.size() <= 9) {
    std::int64_t value = 0;
    std::size_t k = 0;
    for (; k < s.size() && static_cast<unsigned char>(s[k] - '0') <= 9; ++k) value = value * 10 + (s[k] - '0');
    if (k == s.size()) {
      if (value < lo || value > hi) return bad;
      out = static_cast<std::int32_t>(value);
      return DropReason::none;
    }
  }
  return check_int_slow(v, lo, hi, out, bad);
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
  if ((r = check_time(at(Field::event_time), e.event_time)) != DropReason::none) return r;
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
    if (cat.kind != ValueKind::string && cat.kind != ValueKind::text) return DropReason::bad_category;
    e.category = cat.text;
  }
  e.quantity = 1;
  if ((r = check_int(at(Field::quantity), 1, kMaxQuantity, e.quantity, DropReason::bad_quantity)) != DropReason::none) return r;
  const RawValue& price = at(Field::unit_price);
  if (is_missing(price)) return DropReason::missing_unit_price;
  if (price.kind != ValueKind::number && price.kind != ValueKind::string && price.kind != ValueKind::text)
    return DropReason::bad_unit_price;
  Cents cents = 0;
  if (!parse_price_cents(trim_ws(price.text), cents)) return DropReason::bad_unit_price;
  e.unit_price = cents;
  if ((r = check_time(at(Field::event_time), e.event_time)) != DropReason::none) return r;
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

namespace {

// True when the n bytes at p hold a backslash. Reads whole 8-byte words, up to 7 bytes past the
// end: the text is a JSON string inside simdjson's padded input, so they are readable. Word-wise
// because ids are short: a call to memchr costs more, and a byte loop was a tenth of parsing.
bool has_backslash(const char* p, std::size_t n) {
  static_assert(std::endian::native == std::endian::little, "the tail mask assumes little-endian words");
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  constexpr std::uint64_t kBackslashes = kOnes * static_cast<unsigned char>('\\');
  // A byte of w ^ kBackslashes is zero where a backslash is; (x - ones) & ~x & highs flags the
  // lowest zero byte exactly, and can flag bytes above it only when a real zero lies below.
  auto zero_bytes = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighs; };
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if (zero_bytes(w ^ kBackslashes)) return true;
  }
  if (n == 0) return false;
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  // Little-endian: the first n bytes are the low ones; flags above them are beyond the text.
  return (zero_bytes(w ^ kBackslashes) & ((std::uint64_t{1} << (8 * n)) - 1)) != 0;
}

// True when `t` is a number as JSON writes it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
// simdjson's On-Demand API hands out a number's raw token unchecked; "007", "1." or "1abc" are
// not JSON, so such a line is malformed whichever field holds the token.
[[gnu::noinline]] bool is_json_number_general(std::string_view t) {
  std::size_t i = 0;
  const std::size_t n = t.size();
  auto digit = [&t](std::size_t k) { return static_cast<unsigned char>(t[k] - '0') <= 9; };
  if (i < n && t[i] == '-') ++i;
  if (i == n || !digit(i)) return false;
  if (t[i] == '0') {
    ++i;
  } else {
    while (i < n && digit(i)) ++i;
  }
  if (i < n && t[i] == '.') {
    if (++i == n || !digit(i)) return false;
    while (i < n && digit(i)) ++i;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '-' || t[i] == '+')) ++i;
    if (i == n || !digit(i)) return false;
    while (i < n && digit(i)) ++i;
  }
  return i == n;
}

// The same test, with the common forms settled inline: digits without a leading zero, perhaps a
// fraction ("1", "29.49").
[[gnu::always_inline]] inline bool is_json_number(std::string_view t) {
  auto digit = [&t](std::size_t k) { return static_cast<unsigned char>(t[k] - '0') <= 9; };
  if (!t.empty() && static_cast<unsigned char>(t[0] - '1') <= 8) {
    std::size_t i = 1;
    while (i < t.size() && digit(i)) ++i;
    if (i == t.size()) return true;
    if (t[i] == '.' && i + 1 < t.size()) {
      ++i;
      while (i < t.size() && digit(i)) ++i;
      if (i == t.size()) return true;
    }
  }
  return is_json_number_general(t);
}

// True when a value the fields do not read (an unknown field's, or an object or array where a
// field wants a scalar) is valid JSON. On-Demand skips such values by their brackets alone, so
// `[1,,2]` or `"\x"` would pass unseen: this walk reads every part of the value, which is rare.
bool is_valid_json(simdjson::ondemand::value value, int depth = 0) {
  using namespace simdjson;
  if (depth > static_cast<int>(DEFAULT_MAX_DEPTH)) return false;  // simdjson's own nesting limit
  ondemand::json_type type;
  if (value.type().get(type)) return false;
  switch (type) {
    case ondemand::json_type::object: {
      ondemand::object obj;
      if (value.get_object().get(obj)) return false;
      for (auto f : obj) {
        ondemand::field field;
        std::string_view key;
        if (std::move(f).get(field) || field.unescaped_key().get(key)) return false;
        if (!is_valid_json(field.value(), depth + 1)) return false;
      }
      return true;
    }
    case ondemand::json_type::array: {
      ondemand::array arr;
      if (value.get_array().get(arr)) return false;
      for (auto e : arr) {
        ondemand::value element;
        if (std::move(e).get(element) || !is_valid_json(element, depth + 1)) return false;
      }
      return true;
    }
    case ondemand::json_type::string: {
      std::string_view text;
      return !value.get_string().get(text);
    }
    case ondemand::json_type::number:
      return is_json_number_general(trim_ws(value.raw_json_token()));
    case ondemand::json_type::boolean: {
      const std::string_view t = trim_ws(value.raw_json_token());
      return t == "true" || t == "false";
    }
    case ondemand::json_type::null:
      return trim_ws(value.raw_json_token()) == "null";
  }
  return false;
}

// A field's key as it appears raw after the opening quote, closing quote included, in 16 bytes,
// and a bit for each byte that counts. The longest, "customer_id\"", takes 12.
struct KeyPattern {
  std::array<char, 16> bytes{};
  unsigned mask = 0;
};

const std::array<KeyPattern, kFieldCount> kKeyPatterns = [] {
  std::array<KeyPattern, kFieldCount> p;
  for (std::size_t f = 0; f < kFieldCount; ++f) {
    const std::string_view name = kFieldNames[f];
    std::copy(name.begin(), name.end(), p[f].bytes.begin());
    p[f].bytes[name.size()] = '"';
    p[f].mask = (1u << (name.size() + 1)) - 1;
  }
  return p;
}();

// True when the raw key at `raw` (16 readable bytes: records are padded) is exactly the field's
// name, as simdjson's raw_json_string == name would say.
bool key_is(const char* raw, const KeyPattern& p) {
#if defined(__SSE2__)
  const __m128i k = _mm_loadu_si128(reinterpret_cast<const __m128i*>(raw));
  const __m128i want = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p.bytes.data()));
  return (static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(k, want))) & p.mask) == p.mask;
#else
  return std::memcmp(raw, p.bytes.data(), static_cast<std::size_t>(std::popcount(p.mask))) == 0;
#endif
}

// Reads the known fields of a JSON object into `out` (which starts all absent). Strings without
// escapes point into the batch arena; escaped ones are unescaped into the batch. The caller vouches
// that no byte before `clean_until` is a backslash (nullptr: vouches for nothing), which spares
// the per-string check for nearly every string. Anything that is not JSON, in any field, known or
// not, makes the record malformed.
DropReason read_fields(simdjson::ondemand::object& obj, EventBatch& batch, RawFields& out, KeyOrder& order,
                       const char* clean_until) {
  using namespace simdjson;
  std::size_t position = 0;
  for (auto field_result : obj) {
    ondemand::field field;
    if (std::move(field_result).get(field)) return DropReason::malformed_json;
    // Keys are compared as raw bytes first: an unescaped key equals a name exactly when its raw
    // bytes do. The field this position held last time is the first guess.
    ondemand::raw_json_string key = field.key();
    std::optional<Field> which;
    const std::size_t at = position++;
    if (at < order.size() && order[at] != Field::count_ && key_is(key.raw(), kKeyPatterns[static_cast<std::size_t>(order[at])])) [[likely]] {
      which = order[at];
    } else {
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
      if (at < order.size()) order[at] = which.value_or(Field::count_);
    }
    if (!which) [[unlikely]] {
      // A key that names no field by its raw bytes may still spell one with escapes
      // ("pro\u0064uct_id"); if it names none, its value must still be JSON. Nothing here takes
      // `field` by reference or by value: either would put it on the stack, written in pieces and
      // read back whole on every field, a store-forwarding stall that cost a fifth of the run.
      std::string_view unescaped;
      if (field.unescaped_key().get(unescaped)) return DropReason::malformed_json;
      which = field_from_name(unescaped);
      if (!which) {
        if (!is_valid_json(field.value())) return DropReason::malformed_json;
        continue;
      }
    }
    ondemand::value value = field.value();
    // The value's raw token, typed by its first byte as value.type() would (one peek instead of
    // two): a quote is a string, a digit or minus a number, 'n' null, '{' '[' 't' 'f' anything
    // else we keep, any other byte a malformed document.
    const std::string_view raw = value.raw_json_token();
    RawValue& rv = out[static_cast<std::size_t>(*which)];
    // Strings and numbers by plain branches, which follow the fields' order well; a switch here
    // became another indirect jump per field.
    const char first = raw.empty() ? '\0' : raw.front();
    if (first == '"') [[likely]] {
      std::string_view token = trim_ws(raw);
      std::string_view inner = token.size() >= 2 ? token.substr(1, token.size() - 2) : std::string_view{};
      if (inner.data() + inner.size() <= clean_until || !has_backslash(inner.data(), inner.size())) {
        rv = {ValueKind::string, inner};  // points into the batch arena: no copy
      } else {
        std::string_view unescaped;
        if (value.get_string().get(unescaped)) return DropReason::malformed_json;
        rv = {ValueKind::string, batch.keep(unescaped)};
      }
      continue;
    }
    if (first == '-' || (first >= '0' && first <= '9')) [[likely]] {
      const std::string_view token = trim_ws(raw);
      if (!is_json_number(token)) return DropReason::malformed_json;
      rv = {ValueKind::number, token};
      continue;
    }
    switch (first) {
      case 'n':
        if (trim_ws(raw) != "null") return DropReason::malformed_json;
        rv = {ValueKind::null, {}};
        break;
      case 't': case 'f': {
        const std::string_view token = trim_ws(raw);
        if (token != "true" && token != "false") return DropReason::malformed_json;
        rv = {ValueKind::other, {}};
        break;
      }
      case '{': case '[':
        if (!is_valid_json(value)) return DropReason::malformed_json;
        rv = {ValueKind::other, {}};
        break;
      default:
        return DropReason::malformed_json;
    }
  }
  return DropReason::none;
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Offset in the arena of the record's first non-whitespace byte (JSON whitespace, as simdjson
// sees it), or npos for a record of whitespace only.
std::size_t first_token(const EventBatch& batch, const RawRecord& r) {
  const std::string_view text = batch.text(r);
  for (std::size_t i = 0; i < text.size(); ++i)
    if (!is_json_space(text[i])) return r.offset + i;
  return std::string_view::npos;
}

}  // namespace

DropReason RecordParser::parse_json(std::string_view text, std::size_t capacity, EventBatch& batch,
                                    RawFields& out) {
  using namespace simdjson;
  out.fill(RawValue{});
  ondemand::document doc;
  if (json_.iterate(padded_string_view(text.data(), text.size(), capacity)).get(doc)) return DropReason::malformed_json;
  ondemand::object obj;
  if (doc.get_object().get(obj)) return DropReason::malformed_json;
  if (DropReason r = read_fields(obj, batch, out, key_order_, nullptr); r != DropReason::none) return r;
  // Anything after the closing brace (a second object, garbage) makes the line malformed.
  const char* rest = nullptr;
  if (!doc.current_location().get(rest)) return DropReason::malformed_json;
  return DropReason::none;
}

DropReason RecordParser::parse_csv(std::string_view text, const CsvSchema& schema, EventBatch& batch,
                                   RawFields& out) {
  out.fill(RawValue{});
  // CSV text must be UTF-8, as JSON text is (simdjson checks that): an invalid byte would reach
  // the output as U+FFFD, and two different ids could print the same.
  if (!is_valid_utf8(text)) return DropReason::malformed_csv;
  if (!split_csv_record(text, cells_, scratch_) || cells_.size() != schema.columns) return DropReason::malformed_csv;
  // split_csv_record copies quoted cells, and only those, into scratch_.
  const bool quoted = !scratch_.empty();
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

void RecordParser::parse_one(EventBatch& batch, std::size_t i, RawFields& fields) {
  const RawRecord& rec = batch.record(i);
  Event& e = batch.events()[i];
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

// Why a window gives each line the same parse as parsing it alone: simdjson's stage 1 classifies
// each byte from what precedes it, so a line tokenizes as it would alone when the window is outside
// any string where the line starts. The window starts so. Document k+1 starting exactly at line
// k+1's first non-blank byte shows that line k's tokens all belong to document k (only blanks lie
// between them), that the window is outside a string at line k+1 (inside one, that byte would be
// string content or a closing quote, never a token start), and that nothing follows line k's
// object on its line. Document k is then line k's complete token sequence, read by the same
// On-Demand code as alone. Anything else (a stage 1 error anywhere in the window, a line that is
// not an object, a document that starts elsewhere) stops the window at the first line not vouched
// for; that line is parsed alone. The last line of a window (the sentinel) is only used to vouch
// for the one before it: in stream mode simdjson quietly drops an incomplete last document.
std::size_t RecordParser::parse_json_window(EventBatch& batch, std::size_t first, std::size_t sentinel) {
  using namespace simdjson;
  const RawRecord& head = batch.record(first);
  const RawRecord& tail = batch.record(sentinel);
  // The first document's index reads 0 whatever blanks precede it, so a first line that is all
  // blanks would pass for its successor's document: leave that line to the plain parse.
  if (first_token(batch, head) == std::string_view::npos) return 0;
  ondemand::document_stream stream;
  if (json_.iterate_many(batch.text(head).data(), tail.offset + tail.length - head.offset, kWindowBytes).get(stream))
    return 0;
  auto& events = batch.events();
  RawFields fields;
  // No byte before clean_until is a backslash. One memchr usually covers the whole window; past a
  // backslash the scan resumes at the next line.
  const char* const window_end = batch.text(tail).data() + tail.length;
  const char* clean_until = batch.text(head).data();
  std::size_t next = first;  // the line the next document must belong to
  std::size_t vouched = first;  // lines [first, vouched) have their events set
  for (auto it = stream.begin(); it != stream.end(); ++it) {
    if (it.error()) break;
    if (next > first && head.offset + it.current_index() != first_token(batch, batch.record(next))) break;
    if (next > first) {
      // Line next-1 is vouched for: its fields can become an event.
      Event& e = events[next - 1];
      e.record = static_cast<std::uint32_t>(next - 1);
      const DropReason reason = build_event(fields, e);
      e.reason = reason;
      e.status = reason == DropReason::none ? EventStatus::accepted : EventStatus::rejected;
      vouched = next;
    }
    if (next == sentinel) break;
    ondemand::document_reference doc;
    if ((*it).get(doc)) break;
    ondemand::object obj;
    if (doc.get_object().get(obj)) break;
    fields.fill(RawValue{});
    const std::string_view line = batch.text(batch.record(next));
    if (clean_until < line.data() + line.size() && clean_until < window_end) {
      const char* from = std::max(clean_until, line.data());
      const void* bs = std::memchr(from, '\\', static_cast<std::size_t>(window_end - from));
      clean_until = bs ? static_cast<const char*>(bs) : window_end;
    }
    if (read_fields(obj, batch, fields, key_order_, clean_until) != DropReason::none) break;
    ++next;
  }
  return vouched - first;
}

void RecordParser::parse_json_run(EventBatch& batch, std::size_t first, std::size_t last) {
  RawFields fields;
  auto text_end = [&batch](std::size_t i) -> std::size_t { return batch.record(i).offset + batch.record(i).length; };
  std::size_t i = first;
  while (i + 1 < last) {
    const std::size_t start = batch.record(i).offset;
    if (text_end(i + 1) - start > kWindowBytes) {  // a long line: alone
      parse_one(batch, i++, fields);
      continue;
    }
    std::size_t sentinel = i + 1;
    while (sentinel + 1 < last && sentinel - i < kWindowLines && text_end(sentinel + 1) - start <= kWindowBytes) ++sentinel;
    const std::size_t vouched = parse_json_window(batch, i, sentinel);
    if (vouched == 0) {
      // Failing at its first line, the window may fail at every line (a stage 1 error, say, fails
      // all of it): parse the lines alone rather than retry a window per line.
      for (; i < sentinel; ++i) parse_one(batch, i, fields);
    } else {
      i += vouched;
      if (i < sentinel) parse_one(batch, i++, fields);
    }
  }
  for (; i < last; ++i) parse_one(batch, i, fields);
}

void RecordParser::parse(EventBatch& batch) {
  batch.events().resize(batch.size());
  RawFields fields;
  std::size_t i = 0;
  while (i < batch.size()) {
    // Runs of plain NDJSON records go through windows; anything else is parsed alone.
    auto plain_json = [&batch](std::size_t k) {
      const RawRecord& r = batch.record(k);
      return r.flag == RecordFlag::none && !r.format.csv;
    };
    if (!plain_json(i)) {
      parse_one(batch, i++, fields);
      continue;
    }
    std::size_t end = i + 1;
    while (end < batch.size() && plain_json(end)) ++end;
    parse_json_run(batch, i, end);
    i = end;
  }
  batch.mark_parsed();
}

}  // namespace orderpulse
