#pragma once
// The one way orderpulse writes JSON text on hot paths (result lines, the drop ledger):
// appending to a std::string, no DOM. nlohmann-json is used for config and cold output.

#include <cstdint>
#include <string>
#include <string_view>

#include "orderpulse/common/money.h"

namespace orderpulse {

// Appends s as a quoted JSON string. Control characters are escaped; bytes that are not valid
// UTF-8 become U+FFFD so the output is always valid JSON whatever the input held.
void append_json_string(std::string& out, std::string_view s);

// Appends a money value as a JSON number with exactly two decimals.
inline void append_json_money(std::string& out, CentsSum c) { append_cents(out, c); }

}  // namespace orderpulse
