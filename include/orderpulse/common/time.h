#pragma once
// Event-time representation and its text forms. Times are UTC milliseconds since the Unix epoch.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace orderpulse {

using TimestampMs = std::int64_t;
using DurationMs = std::int64_t;

inline constexpr TimestampMs kMinTime = std::numeric_limits<TimestampMs>::min();
// End of input is a watermark at +infinity: every window becomes final.
inline constexpr TimestampMs kMaxTime = std::numeric_limits<TimestampMs>::max();

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);

// Builds a UTC timestamp from calendar fields; nullopt when a field is out of range.
std::optional<TimestampMs> make_timestamp(int year, int month, int day, int hour, int minute,
                                          int second, int millis);

// Accepts, in this order of recognition:
//  - epoch milliseconds: digits only (non-negative);
//  - ISO-8601 "YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][Z|+HH:MM|-HH:MM|+HHMM|-HHMM]";
//    without a zone the time is taken as UTC. Fractions beyond milliseconds are truncated.
std::optional<TimestampMs> parse_timestamp(std::string_view text);
// The same, setting `out` and returning whether the text is valid: for hot paths (see
// parse_decimal_cents(text, out) for why).
bool parse_timestamp(std::string_view text, TimestampMs& out);

// "M/D/YYYY H:MM[:SS]" as found in some exports of the Olist dataset, taken as UTC.
std::optional<TimestampMs> parse_us_datetime(std::string_view text);

// "2017-10-02T10:00:00Z", with ".mmm" only when the milliseconds are non-zero.
void append_iso8601(std::string& out, TimestampMs t);
std::string format_iso8601(TimestampMs t);

}  // namespace orderpulse
