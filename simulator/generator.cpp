#include "generator.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "errors.h"
#include "orderpulse/common/json_text.h"
#include "orderpulse/common/money.h"

namespace orderpulse::sim {
namespace {

constexpr std::size_t kRecentLines = 1024;  // duplicates copy one of the last ~1000 valid lines
constexpr std::int32_t kMaxLinesPerOrder = 8;
constexpr double kExtraLineChance = 0.3;  // geometric line count: 70% of orders have one line
constexpr DurationMs kLateMargin = 1'000;
constexpr DurationMs kLateSpread = 60'000;

void append_field(std::string& out, std::string_view key, std::uint64_t v) {
  append_json_string(out, key);
  out.push_back(':');
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_time_field(std::string& out, std::string_view key, TimestampMs t) {
  append_json_string(out, key);
  out.append(":\"");
  append_iso8601(out, t);
  out.push_back('"');
}

// The product a sold-out or restock scenario is about: the one named (p000123), else the least
// popular one, which regular orders hardly touch: its stock reaches the reorder level at the
// scenario's time and not before (popular products of a long stream sell out on their own).
std::uint64_t scenario_product(const Scenario& s, const World& world) {
  if (s.product.empty()) return world.least_popular_product();
  std::uint64_t no = 0;
  const char* begin = s.product.data() + 1;
  const char* end = s.product.data() + s.product.size();
  const auto [ptr, ec] = std::from_chars(begin, end, no);
  if (s.product.size() < 2 || s.product[0] != 'p' || ec != std::errc() || ptr != end || no == 0 || no > world.products())
    throw UsageError("--" + std::string(s.kind == ScenarioKind::sold_out ? "sold-out" : "restock") + ": '" + s.product +
                     "' is not a product of the generated catalog (p000001 .. with --products " +
                     std::to_string(world.products()) + ")");
  return no;
}

}  // namespace

StreamGenerator::StreamGenerator(const GenerateOptions& o, const World& world, std::string& out)
    : o_(o),
      world_(world),
      out_(out),
      rng_(o.seed, 2),
      csv_tail_fault_(o.format == OutputFormat::csv && o.malformed > 0),
      fault_kinds_(o.format == OutputFormat::csv ? kCsvFaultKinds : kJsonFaultKinds),
      last_time_(o.start_time),
      max_time_(kMinTime),
      scenario_rng_(o.seed, 3) {
  if (o_.duplicates > 0) recent_.resize(kRecentLines);
  for (std::size_t k = 0; k < o_.scenarios.size(); ++k) {
    const Scenario& s = o_.scenarios[k];
    const TimestampMs at = o_.start_time + s.at;
    if (s.kind == ScenarioKind::whale) {
      for (std::int32_t n = 0; n < kWhaleOrders; ++n) injections_.push_back({at + kWhaleSpan * n / kWhaleOrders, k, n});
    } else if (s.kind == ScenarioKind::sold_out || s.kind == ScenarioKind::restock) {
      injections_.push_back({at, k, 0});
      const std::uint64_t product = scenario_product(s, world_);
      if (std::none_of(sold_.begin(), sold_.end(), [&](const auto& p) { return p.first == product; })) sold_.emplace_back(product, 0);
    } else {
      // Bursts and drops live in the timeline; the summary says when.
      std::string j = "{\"kind\":\"" + std::string(to_string(s.kind)) + "\",";
      append_time_field(j, "from", at);
      j.push_back(',');
      append_time_field(j, "to", at + s.length);
      char factor[32];
      j += ",\"factor\":" + std::string(factor, std::to_chars(factor, factor + sizeof factor, s.factor).ptr) + "}";
      summary_.scenarios.push_back(std::move(j));
    }
  }
  std::stable_sort(injections_.begin(), injections_.end(), [](const Injection& a, const Injection& b) { return a.time < b.time; });
}

void StreamGenerator::next(TimestampMs base, bool last) {
  if (next_injection_ < injections_.size()) emit_scenarios(base);
  if (csv_tail_fault_ && last) {
    emit_malformed(Fault::unterminated_quote);
  } else {
    const double u = rng_.unit();
    if (u < o_.malformed) {
      emit_malformed(static_cast<Fault>(rng_.below(fault_kinds_)));
    } else if (u < o_.malformed + o_.duplicates) {
      if (!try_emit_duplicate()) emit_on_time(base);
    } else if (u < o_.malformed + o_.duplicates + o_.late) {
      if (!try_emit_late()) emit_on_time(base);
    } else {
      emit_on_time(base);
    }
  }
  ++summary_.records;
}

void StreamGenerator::finish() {
  if (summary_.lines > 0) summary_.max_event_time = max_time_;
}

void StreamGenerator::emit_scenarios(TimestampMs base) {
  while (next_injection_ < injections_.size() && injections_[next_injection_].time <= base) {
    const Injection& in = injections_[next_injection_++];
    emit_scenario(o_.scenarios[in.scenario], in.time, in.step);
  }
}

void StreamGenerator::write_line(const OrderLine& l) {
  append_record(out_, o_.format, make_fields(l, world_.category_of(l.product_no), scratch_));
  ++summary_.scenario_records;
  max_time_ = std::max(max_time_, l.event_time);
}

void StreamGenerator::emit_scenario(const Scenario& s, TimestampMs t, std::int32_t step) {
  std::string j = "{\"kind\":\"" + std::string(to_string(s.kind)) + "\",";
  append_time_field(j, "event_time", t);
  if (s.kind == ScenarioKind::whale) {
    // A customer outside the regular pool, so nobody else adds to its sums.
    OrderLine l;
    l.order_no = next_order_no_++;
    l.customer_no = o_.customers + 1;
    l.product_no = world_.pick_product(scenario_rng_);
    l.event_time = t;
    l.unit_price = step == 0 ? kWhaleFirstOrder : kWhaleOrder;
    write_line(l);
    if (step != 0) return;
    std::string id;
    append_customer_id(id, l.customer_no);
    j += ",\"subject\":\"customer:" + id + "\",\"orders\":" + std::to_string(kWhaleOrders) + ",\"span_ms\":" +
         std::to_string(kWhaleSpan) + ",\"first_order\":" + format_cents(kWhaleFirstOrder) +
         ",\"other_orders\":" + format_cents(kWhaleOrder) + "}";
    summary_.scenarios.push_back(std::move(j));
    return;
  }
  const std::uint64_t product = scenario_product(s, world_);
  auto sold = std::find_if(sold_.begin(), sold_.end(), [&](const auto& p) { return p.first == product; });
  const Product& info = world_.product(product);
  const std::int64_t stock_before = info.stock - sold->second;
  std::string id;
  append_product_id(id, product);
  j += ",\"subject\":\"product:" + id + "\",\"stock_before\":" + std::to_string(stock_before) +
       ",\"reorder_level\":" + std::to_string(info.reorder_level);
  if (s.kind == ScenarioKind::restock) {
    // Back to the catalog's stock on top of what is left.
    std::string qty = std::to_string(info.stock);
    std::string when;
    append_iso8601(when, t);
    RecordFields r;
    for (FieldText& f : r.f) f.present = false;
    r[Field::type] = {"restock", true, true, true};
    r[Field::product_id] = {id, true, true, true};
    r[Field::quantity] = {qty, false, true, true};
    r[Field::event_time] = {when, true, true, true};
    append_record(out_, o_.format, r);
    ++summary_.scenario_records;
    sold->second -= info.stock;
    j += ",\"quantity\":" + qty + "}";
  } else {
    // One order buying every unit left, in lines of at most the engine's quantity limit.
    std::int64_t left = std::max<std::int64_t>(stock_before, 1);
    OrderLine l;
    l.order_no = next_order_no_++;
    l.customer_no = world_.pick_customer(scenario_rng_);
    l.product_no = product;
    l.event_time = t;
    l.unit_price = world_.line_price(product, scenario_rng_);
    j += ",\"quantity\":" + std::to_string(left) + "}";
    for (l.line = 1; left > 0; ++l.line) {
      l.quantity = static_cast<std::int32_t>(std::min<std::int64_t>(left, kMaxQuantity));
      left -= l.quantity;
      sold->second += l.quantity;
      write_line(l);
    }
  }
  summary_.scenarios.push_back(std::move(j));
}

void StreamGenerator::fill_line(OrderLine& l) {
  l.product_no = world_.pick_product(rng_);
  l.quantity = rng_.chance(0.8) ? 1 : static_cast<std::int32_t>(rng_.between(2, 5));
  l.unit_price = world_.line_price(l.product_no, rng_);
}

// A fresh one-line order outside the on-time sequence, so it can never collide with a real
// order's (order_id, line) and be mistaken for a duplicate.
OrderLine StreamGenerator::single_line(TimestampMs t) {
  OrderLine l;
  l.order_no = next_order_no_++;
  l.customer_no = world_.pick_customer(rng_);
  l.event_time = t;
  fill_line(l);
  return l;
}

void StreamGenerator::emit_on_time(TimestampMs base) {
  if (order_.line >= order_lines_) {
    order_.order_no = next_order_no_++;
    order_.customer_no = world_.pick_customer(rng_);
    order_.event_time = std::max<TimestampMs>(0, base - rng_.between(0, o_.disorder));
    order_.line = 0;
    order_lines_ = 1;
    while (order_lines_ < kMaxLinesPerOrder && rng_.chance(kExtraLineChance)) ++order_lines_;
    ++summary_.orders;
    last_time_ = order_.event_time;
    max_time_ = std::max(max_time_, order_.event_time);
  }
  ++order_.line;
  fill_line(order_);
  for (auto& [product, units] : sold_)
    if (product == order_.product_no) units += order_.quantity;
  const std::size_t begin = out_.size();
  append_record(out_, o_.format, make_fields(order_, world_.category_of(order_.product_no), scratch_));
  ++summary_.lines;
  if (!recent_.empty()) {
    Recent& slot = recent_[recent_next_];
    slot.text.assign(out_, begin, out_.size() - begin);
    slot.time = order_.event_time;
    recent_next_ = (recent_next_ + 1) % kRecentLines;
    recent_count_ = std::min(recent_count_ + 1, kRecentLines);
  }
}

// Late means older than what the engine's watermark (max event time - watermark delay) has
// already passed, with at least a second to spare so small watermark lag cannot rescue it. A
// file waits until that time is after --start-time; a live stream only needs one line out.
bool StreamGenerator::try_emit_late() {
  if (summary_.lines == 0 ||
      (!o_.live && max_time_ <= o_.start_time + o_.watermark_delay + kLateMargin + kLateSpread)) {
    return false;
  }
  const TimestampMs t = max_time_ - o_.watermark_delay - kLateMargin - rng_.between(1, kLateSpread);
  const OrderLine l = single_line(t);
  append_record(out_, o_.format, make_fields(l, world_.category_of(l.product_no), scratch_));
  ++summary_.late;
  return true;
}

bool StreamGenerator::try_emit_duplicate() {
  if (recent_count_ == 0) return false;
  const std::size_t newest = (recent_next_ + kRecentLines - 1) % kRecentLines;
  std::size_t pick = (newest + kRecentLines - rng_.below(recent_count_)) % kRecentLines;
  // A copy older than the watermark would be counted late rather than duplicate at slow rates.
  if (recent_[pick].time < max_time_ - o_.watermark_delay + kLateMargin) pick = newest;
  out_.append(recent_[pick].text);
  ++summary_.duplicates;
  return true;
}

void StreamGenerator::emit_malformed(Fault kind) {
  const OrderLine l = single_line(last_time_);
  append_malformed(out_, o_.format, kind, make_fields(l, world_.category_of(l.product_no), scratch_), rng_,
                   record_);
  ++summary_.malformed;
  ++summary_.malformed_by_kind[static_cast<std::size_t>(kind)];
}

std::string GenerateSummary::to_json() const {
  std::string s = "{";
  append_field(s, "records", records);
  s.push_back(',');
  append_field(s, "orders", orders);
  s.push_back(',');
  append_field(s, "lines", lines);
  s.push_back(',');
  append_field(s, "late", late);
  s.push_back(',');
  append_field(s, "duplicates", duplicates);
  s.push_back(',');
  append_field(s, "malformed", malformed);
  s.append(",\"malformed_kinds\":{");
  bool first = true;
  for (std::size_t k = 0; k < kFaultKinds; ++k) {
    if (malformed_by_kind[k] == 0) continue;
    if (!first) s.push_back(',');
    first = false;
    append_field(s, to_string(static_cast<Fault>(k)), malformed_by_kind[k]);
  }
  s.push_back('}');
  if (max_event_time) {
    s.append(",\"max_event_time\":\"");
    append_iso8601(s, *max_event_time);
    s.push_back('"');
  }
  if (!scenarios.empty()) {
    s.push_back(',');
    append_field(s, "scenario_records", scenario_records);
    s.append(",\"scenarios\":[");
    for (std::size_t i = 0; i < scenarios.size(); ++i) s += (i ? "," : "") + scenarios[i];
    s.push_back(']');
  }
  s.push_back('}');
  return s;
}

World prepare_world(const GenerateOptions& o) {
  if (o.malformed + o.duplicates + o.late > 1.0) {
    throw UsageError("--late + --duplicates + --malformed must not exceed 1");
  }
  if (!o.catalog_out.empty() && o.catalog_out == o.out) {
    throw UsageError("--catalog-out must differ from --out");
  }
  if (o.disorder > o.watermark_delay) {
    std::fprintf(stderr,
                 "orderpulse-sim: warning: --disorder exceeds --watermark-delay, so some records "
                 "not injected as late will be late too\n");
  }
  for (const Scenario& s : o.scenarios) {
    if (s.kind == ScenarioKind::restock && o.format == OutputFormat::csv)
      throw UsageError("--restock writes restock records, which need --format ndjson");
  }
  World world(o.seed, o.products, o.customers);
  for (const Scenario& s : o.scenarios)
    if (s.kind == ScenarioKind::sold_out || s.kind == ScenarioKind::restock) scenario_product(s, world);
  if (!o.catalog_out.empty()) {
    std::string catalog;
    world.append_catalog_csv(catalog);
    write_whole_file(o.catalog_out, catalog);
  }
  return world;
}

GenerateSummary run_generate(const GenerateOptions& o) {
  const World world = prepare_world(o);
  OutputFile out(o.out);
  StreamGenerator gen(o, world, out.buffer());
  if (o.format == OutputFormat::csv) append_event_header(out.buffer());
  const Timeline timeline(o.rate, o.scenarios);
  for (std::uint64_t i = 0; i < o.count; ++i) {
    // Record i's base time: evenly spaced at --rate from --start-time (bursts and drops change the rate).
    gen.next(o.start_time + static_cast<TimestampMs>(timeline.offset(i)), i + 1 == o.count);
    out.maybe_flush();
  }
  gen.finish();
  out.close();
  return gen.summary();
}

}  // namespace orderpulse::sim
