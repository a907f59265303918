#include "orderpulse/common/money.h"

namespace orderpulse {

namespace {

// Every form parse_decimal_cents accepts, rounding included. Out of line so the plain-price path
// returns in registers (see parse_decimal_cents(text, out)).
[[gnu::noinline]] std::optional<Cents> parse_decimal_general(std::string_view s) {
  std::size_t pos = 0;
  bool negative = false;
  if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) negative = s[pos++] == '-';
  // Collect significant digits and the position of the decimal point.
  char digits[64];
  int ndigits = 0;
  int int_digits = 0;
  bool seen_point = false;
  bool any_digit = false;
  bool dropped_nonzero = false;  // digits beyond the buffer (only matter as a sticky bit)
  for (; pos < s.size(); ++pos) {
    char c = s[pos];
    if (c >= '0' && c <= '9') {
      any_digit = true;
      if (ndigits == 0 && c == '0' && !seen_point) continue;  // leading zeros
      if (ndigits < 64) {
        digits[ndigits++] = c;
        if (!seen_point) ++int_digits;
      } else {
        if (!seen_point) return std::nullopt;  // absurdly large
        dropped_nonzero = dropped_nonzero || c != '0';
      }
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (!any_digit) return std::nullopt;
  int exponent = 0;
  if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
    ++pos;
    bool eneg = false;
    if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) eneg = s[pos++] == '-';
    int e = 0;
    bool edigit = false;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) {
      edigit = true;
      if (e < 10000) e = e * 10 + (s[pos] - '0');
    }
    if (!edigit) return std::nullopt;
    exponent = eneg ? -e : e;
  }
  if (pos != s.size()) return std::nullopt;
  // Value = 0.d1d2d3... * 10^(int_digits + exponent) (after stripping leading zeros from the
  // integer part; fractional leading zeros stay in digits). Cents: shift by two places.
  const long point = static_cast<long>(int_digits) + exponent + 2;  // digits before the cents point
  if (point > 15) {
    // Could still be zero if every digit is zero.
    for (int i = 0; i < ndigits; ++i)
      if (digits[i] != '0') return std::nullopt;
    return Cents{0};
  }
  std::int64_t whole = 0;
  for (long i = 0; i < point; ++i) {
    int d = i < ndigits && i >= 0 ? digits[i] - '0' : 0;
    whole = whole * 10 + d;
  }
  // Rounding: look at the first dropped digit and whether anything after it is non-zero.
  int first_dropped = 0;
  bool rest_nonzero = dropped_nonzero;
  for (long i = point < 0 ? 0 : point; i < ndigits; ++i) {
    long rel = i - point;  // 0 = first dropped digit
    if (rel == 0) {
      first_dropped = digits[i] - '0';
    } else if (digits[i] != '0') {
      rest_nonzero = true;
    }
  }
  if (point < 0) {
    // All digits are below the first dropped position except when point == -0.
    first_dropped = 0;
    for (int i = 0; i < ndigits; ++i)
      if (digits[i] != '0') rest_nonzero = true;
  }
  if (first_dropped > 5 || (first_dropped == 5 && (rest_nonzero || whole % 2 == 1))) ++whole;
  if (whole > kMaxAbsCents) return std::nullopt;
  return negative ? -whole : whole;
}

}  // namespace

bool is_negative_zero_price(std::string_view text) {
  // Zero cents from a minus sign: below zero unless every digit of the mantissa is 0.
  for (char c : text.substr(1)) {
    if (c == 'e' || c == 'E') break;
    if (c >= '1' && c <= '9') return true;
  }
  return false;
}

bool parse_decimal_cents(std::string_view s, Cents& out) {
  // Fast path for plain prices: up to 10 integer digits (within kMaxAbsCents) and at most two decimals, no rounding.
  if (!s.empty() && s.size() <= 15) {
    std::size_t i = 0;
    std::int64_t whole = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') whole = whole * 10 + (s[i++] - '0');
    if (i > 0 && i <= 10) {
      if (i == s.size()) {
        out = whole * 100;
        return true;
      }
      if (s[i] == '.' && s.size() - i <= 3) {
        std::int64_t frac = 0;
        std::size_t digits = 0;
        for (std::size_t j = i + 1; j < s.size() && s[j] >= '0' && s[j] <= '9'; ++j, ++digits) frac = frac * 10 + (s[j] - '0');
        if (i + 1 + digits == s.size()) {
          if (digits == 1) frac *= 10;
          if (digits == 0) frac = 0;
          out = whole * 100 + frac;
          return true;
        }
      }
    }
  }
  const std::optional<Cents> general = parse_decimal_general(s);
  if (!general) return false;
  out = *general;
  return true;
}

std::optional<Cents> parse_decimal_cents(std::string_view s) {
  Cents cents = 0;
  if (!parse_decimal_cents(s, cents)) return std::nullopt;
  return cents;
}

void append_cents(std::string& out, CentsSum cents) {
  if (cents < 0) out.push_back('-');
  CentsSumBits magnitude = cents < 0 ? CentsSumBits{0} - static_cast<CentsSumBits>(cents) : static_cast<CentsSumBits>(cents);
  const auto fraction = static_cast<unsigned>(magnitude % 100);
  CentsSumBits units = magnitude / 100;
  char digits[40];
  char* const end = digits + sizeof digits;
  char* p = end;
  // 64-bit steps while they hold the rest: nearly every amount, and no 128-bit division then.
  while (units > UINT64_MAX) {
    *--p = static_cast<char>('0' + static_cast<unsigned>(units % 10));
    units /= 10;
  }
  for (auto u = static_cast<std::uint64_t>(units);; u /= 10) {
    *--p = static_cast<char>('0' + u % 10);
    if (u < 10) break;
  }
  out.append(p, end);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + fraction / 10));
  out.push_back(static_cast<char>('0' + fraction % 10));
}

std::string format_cents(CentsSum cents) {
  std::string s;
  append_cents(s, cents);
  return s;
}

}  // namespace orderpulse
