#include "faults.h"

#include <array>

namespace orderpulse::sim {
namespace {

constexpr std::array<std::string_view, 4> kNotJson = {
    "this is not json", "<order id=\"1\"/>", "order_id=o1 quantity=2", "{order_id: o1, quantity: 2}"};
// No quotes here: an odd quote would swallow the following records in CSV framing.
constexpr std::array<std::string_view, 3> kNotCsv = {"this is not an order line", "garbage", "-- end of batch --"};

constexpr std::array<std::string_view, kFaultKinds> kFaultNames = {
    "truncated",          "not_a_record",      "missing_order_id",  "missing_customer_id",
    "missing_product_id", "missing_unit_price", "missing_event_time", "quantity_text",
    "quantity_zero",      "quantity_too_large", "price_text",        "price_negative",
    "time_out_of_range",  "time_word",          "too_many_columns",  "stray_quote",
    "unterminated_quote"};

// Kinds that rewrite the record text itself rather than one field.
void append_mangled(std::string& out, OutputFormat format, Fault kind, const RecordFields& r, Rng& rng,
                    std::string& record) {
  const bool csv = format == OutputFormat::csv;
  record.clear();
  append_record(record, format, r);
  record.pop_back();  // the '\n', re-added below
  switch (kind) {
    case Fault::truncated: {
      std::size_t cut = 1 + rng.below(record.size() - 1);  // always loses the closing '}'
      if (csv) {
        // Cut at a comma so the record has 1..7 of its 8 columns.
        std::size_t commas = 1 + rng.below(kCsvFields - 1);
        cut = 0;
        while (commas-- > 0) cut = record.find(',', cut + 1);
      }
      out.append(record, 0, cut);
      break;
    }
    case Fault::not_a_record:
      out.append(csv ? kNotCsv[rng.below(kNotCsv.size())] : kNotJson[rng.below(kNotJson.size())]);
      break;
    case Fault::too_many_columns:
      out.append(record).append(",extra_column");
      break;
    case Fault::stray_quote:
      // `"o000000123"x,...`: text after a closing quote, with the quotes still balanced.
      out.append("\"").append(r[Field::order_id].text).append("\"x").append(record, record.find(','));
      break;
    case Fault::unterminated_quote: {
      // An opening quote never closed. Under RFC 4180 it swallows every following record up to
      // the next quote, which is why it may only be the final record of a stream.
      const std::size_t second_comma = record.find(',', record.find(',') + 1);
      out.append(record, 0, second_comma + 1).append("\"").append(record, second_comma + 1);
      break;
    }
    default:
      break;
  }
  out.push_back('\n');
}

}  // namespace

std::string_view to_string(Fault f) { return kFaultNames[static_cast<std::size_t>(f)]; }

void append_malformed(std::string& out, OutputFormat format, Fault kind, RecordFields r, Rng& rng,
                      std::string& scratch) {
  switch (kind) {
    case Fault::truncated:
    case Fault::not_a_record:
    case Fault::too_many_columns:
    case Fault::stray_quote:
    case Fault::unterminated_quote:
      append_mangled(out, format, kind, r, rng, scratch);
      return;
    case Fault::missing_order_id: r[Field::order_id].present = false; break;
    case Fault::missing_customer_id: r[Field::customer_id].present = false; break;
    case Fault::missing_product_id: r[Field::product_id].present = false; break;
    case Fault::missing_unit_price: r[Field::unit_price].present = false; break;
    case Fault::missing_event_time: r[Field::event_time].present = false; break;
    case Fault::quantity_text: r[Field::quantity] = {"two", true}; break;
    case Fault::quantity_zero: r[Field::quantity] = {"0", false}; break;
    case Fault::quantity_too_large: r[Field::quantity] = {"20000", false}; break;
    case Fault::price_text: r[Field::unit_price] = {"abc", true}; break;
    case Fault::price_negative:
      scratch.assign("-").append(r[Field::unit_price].text);
      r[Field::unit_price] = {scratch, false};
      break;
    case Fault::time_out_of_range: r[Field::event_time] = {"2024-13-45T99:00:00Z"}; break;
    case Fault::time_word: r[Field::event_time] = {"yesterday"}; break;
    case Fault::count_: break;
  }
  append_record(out, format, r);
}

}  // namespace orderpulse::sim
