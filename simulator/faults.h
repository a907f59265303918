#pragma once
// The deliberately broken records written by `generate --malformed`: which kinds exist and how
// each one is spelled in NDJSON and CSV. Owns nothing; the caller supplies the valid record to
// break, the Rng and a scratch string.

#include <cstdint>
#include <string>
#include <string_view>

#include "output.h"
#include "record.h"
#include "rng.h"

namespace orderpulse::sim {

// NDJSON draws from the first kJsonFaultKinds, CSV from the first kCsvFaultKinds;
// unterminated_quote is only ever the last record of a CSV stream (see faults.cpp for why).
enum class Fault : std::uint8_t {
  truncated,
  not_a_record,
  missing_order_id,
  missing_customer_id,
  missing_product_id,
  missing_unit_price,
  missing_event_time,
  quantity_text,
  quantity_zero,
  quantity_too_large,
  price_text,
  price_negative,
  time_out_of_range,
  time_word,
  too_many_columns,
  stray_quote,
  unterminated_quote,
  count_  // number of kinds, not a kind
};
inline constexpr std::size_t kFaultKinds = static_cast<std::size_t>(Fault::count_);
inline constexpr std::size_t kJsonFaultKinds = static_cast<std::size_t>(Fault::time_word) + 1;
inline constexpr std::size_t kCsvFaultKinds = static_cast<std::size_t>(Fault::stray_quote) + 1;

std::string_view to_string(Fault f);

// Appends `fields` (a valid record) broken as `kind` says, ending with '\n'. Each kind breaks
// exactly this one record: quotes stay balanced so CSV framing of what follows is unaffected,
// except for unterminated_quote, which the caller must only use as the final record.
void append_malformed(std::string& out, OutputFormat format, Fault kind, RecordFields fields, Rng& rng,
                      std::string& scratch);

}  // namespace orderpulse::sim
