#pragma once
// Money is integer cents everywhere inside orderpulse, so sums are exact and output is
// byte-identical run to run.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace orderpulse {

using Cents = std::int64_t;

// A sum of amounts over any number of records. One record's amount fits 64 bits with room to
// spare (quantity x price is at most 10^4 x 10^12 cents), but 923 such records pass 2^63 cents: a
// window's, a pane's, a product's or a category's sums take 128 bits, which no input can
// overflow. Added to every record, a 128-bit sum costs an add with carry.
__extension__ typedef __int128 CentsSum;
__extension__ typedef unsigned __int128 CentsSumBits;

// Largest absolute amount accepted, in cents (ten billion units). Keeps quantity x price within 64
// bits.
inline constexpr Cents kMaxAbsCents = 1'000'000'000'000LL;

// Parses a decimal ("12", "12.3", "-0.125", "1.5e2") exactly and rounds half-even to cents.
// nullopt for anything else or for magnitudes above kMaxAbsCents.
std::optional<Cents> parse_decimal_cents(std::string_view text);
// The same, setting `out` and returning whether the text is valid: for hot paths, where GCC 12
// returned the std::optional through the stack and read it back wider than it wrote it (a
// store-forwarding stall per call).
bool parse_decimal_cents(std::string_view text, Cents& out);

// A price: as parse_decimal_cents, but never below zero, not even by less than the half cent
// that rounds to 0.00 ("-0.004" is refused; "-0.00" is zero). The engine's unit_price and the
// Olist replay's price use it alike.
bool is_negative_zero_price(std::string_view text);  // "-0.004": zero cents, below zero
inline bool parse_price_cents(std::string_view text, Cents& out) {
  if (!parse_decimal_cents(text, out) || out < 0) return false;
  return out != 0 || text.empty() || text.front() != '-' || !is_negative_zero_price(text);
}

// "1234.50": exactly two decimals.
void append_cents(std::string& out, CentsSum cents);
std::string format_cents(CentsSum cents);

}  // namespace orderpulse
