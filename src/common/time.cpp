#include "orderpulse/common/time.h"

#include <charconv>
#include <cstring>

#include "orderpulse/common/bytes.h"

namespace orderpulse {
namespace {

constexpr std::int64_t kMsPerDay = 86'400'000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly n digits at pos; advances pos.
bool read_fixed(std::string_view s, std::size_t& pos, int n, int& value) {
  if (pos + static_cast<std::size_t>(n) > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[pos + static_cast<std::size_t>(i)];
    if (!is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  value = v;
  pos += static_cast<std::size_t>(n);
  return true;
}

// Reads 1..max_digits digits.
bool read_var(std::string_view s, std::size_t& pos, int max_digits, int& value) {
  int v = 0;
  int n = 0;
  while (pos < s.size() && is_digit(s[pos]) && n < max_digits) {
    v = v * 10 + (s[pos] - '0');
    ++pos;
    ++n;
  }
  if (n == 0 || (pos < s.size() && is_digit(s[pos]))) return false;
  value = v;
  return true;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Parses "HH:MM[:SS[.fraction]]" starting at pos.
bool read_clock(std::string_view s, std::size_t& pos, bool fixed_hour, int& h, int& mi, int& sec,
                int& ms) {
  if (fixed_hour ? !read_fixed(s, pos, 2, h) : !read_var(s, pos, 2, h)) return false;
  if (pos >= s.size() || s[pos] != ':') return false;
  ++pos;
  if (!read_fixed(s, pos, 2, mi)) return false;
  sec = 0;
  ms = 0;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!read_fixed(s, pos, 2, sec)) return false;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      int digits = 0;
      while (pos < s.size() && is_digit(s[pos])) {
        if (digits < 3) ms = ms * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return false;
      for (int d = digits; d < 3; ++d) ms *= 10;
    }
  }
  return true;
}

}  // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<TimestampMs> make_timestamp(int year, int month, int day, int hour, int minute,
                                          int second, int millis) {
  if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 59 || millis > 999 ||
      hour < 0 || minute < 0 || second < 0 || millis < 0) {
    return std::nullopt;
  }
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * kMsPerDay +
         ((hour * 60LL + minute) * 60LL + second) * 1000LL + millis;
}

namespace {

// The minute of the last canonical timestamp read on this thread and its first millisecond:
// records arrive roughly in time order, so the next timestamp nearly always falls in the same
// minute, and the checks and arithmetic of its first 16 bytes are then skipped. Keyed by the raw
// "YYYY-MM-DDTHH:MM" bytes; only a valid minute is kept. Per thread because the parse stage and
// the engine may both parse.
struct MinuteMemo {
  std::uint64_t lo = 0;  // "YYYY-MM-"
  std::uint64_t hi = 0;  // "DDTHH:MM"
  bool valid = false;
  TimestampMs minute_start = 0;
};
thread_local MinuteMemo minute_memo;

enum class Canonical : std::uint8_t { no, invalid, valid };

// "YYYY-MM-DDTHH:MM:SS[.fff]Z", the form nearly every producer writes, read at fixed positions.
// `no` when the text is not exactly that form (the general parser then decides); `out` is set
// when valid. Every `no` check comes before any `invalid` answer, as the form decides first.
Canonical parse_canonical(std::string_view s, TimestampMs& out) {
  if ((s.size() != 20 && s.size() != 24) || s[16] != ':' || s.back() != 'Z') return Canonical::no;
  auto d = [&s](std::size_t i) { return static_cast<unsigned>(s[i] - '0'); };
  if (d(17) > 9 || d(18) > 9) return Canonical::no;
  int ms = 0;
  if (s.size() == 24) {
    if (s[19] != '.' || d(20) > 9 || d(21) > 9 || d(22) > 9) return Canonical::no;
    ms = static_cast<int>(d(20) * 100 + d(21) * 10 + d(22));
  }
  const int second = static_cast<int>(d(17) * 10 + d(18));
  MinuteMemo& memo = minute_memo;
  std::uint64_t lo;
  std::uint64_t hi;
  std::memcpy(&lo, s.data(), sizeof lo);
  std::memcpy(&hi, s.data() + 8, sizeof hi);
  if (!memo.valid || memo.lo != lo || memo.hi != hi) {
    // Equal bytes passed these checks before; new ones are checked here.
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':') return Canonical::no;
    static constexpr std::size_t kDigits[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15};
    for (std::size_t i : kDigits)
      if (d(i) > 9) return Canonical::no;
    // Through make_timestamp, so a minute is valid exactly when it says so.
    const auto start = make_timestamp(static_cast<int>(d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3)),
                                      static_cast<int>(d(5) * 10 + d(6)), static_cast<int>(d(8) * 10 + d(9)),
                                      static_cast<int>(d(11) * 10 + d(12)), static_cast<int>(d(14) * 10 + d(15)), 0, 0);
    if (!start) return Canonical::invalid;
    memo = {lo, hi, true, *start};
  }
  // The last check of make_timestamp: the digits are never negative, the milliseconds at most 999.
  if (second > 59) return Canonical::invalid;
  out = memo.minute_start + second * 1000LL + ms;
  return Canonical::valid;
}

// Every form parse_timestamp accepts. Out of line: the canonical form is the hot path.
[[gnu::noinline]] std::optional<TimestampMs> parse_timestamp_general(std::string_view text) {
  std::string_view s = trim_blanks(text);
  if (s.empty()) return std::nullopt;
  bool all_digits = true;
  for (char c : s) all_digits = all_digits && is_digit(c);
  if (all_digits) {
    if (s.size() > 15) return std::nullopt;  // up to year 33658: far enough, and no overflow anywhere
    TimestampMs v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
  }
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0;
  if (!read_fixed(s, pos, 4, y) || pos >= s.size() || s[pos++] != '-' || !read_fixed(s, pos, 2, mo) ||
      pos >= s.size() || s[pos++] != '-' || !read_fixed(s, pos, 2, d)) {
    return std::nullopt;
  }
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return std::nullopt;
  ++pos;
  if (!read_clock(s, pos, true, h, mi, sec, ms)) return std::nullopt;
  std::int64_t offset_min = 0;
  if (pos < s.size()) {
    char z = s[pos++];
    if (z == 'Z' || z == 'z') {
      if (pos != s.size()) return std::nullopt;
    } else if (z == '+' || z == '-') {
      int oh = 0, om = 0;
      if (!read_fixed(s, pos, 2, oh)) return std::nullopt;
      if (pos < s.size() && s[pos] == ':') ++pos;
      if (pos < s.size() && !read_fixed(s, pos, 2, om)) return std::nullopt;
      if (pos != s.size() || oh > 23 || om > 59) return std::nullopt;
      offset_min = (oh * 60 + om) * (z == '-' ? -1 : 1);
    } else {
      return std::nullopt;
    }
  }
  auto local = make_timestamp(y, mo, d, h, mi, sec, ms);
  if (!local) return std::nullopt;
  TimestampMs t = *local - offset_min * 60'000;
  if (t < 0) return std::nullopt;
  return t;
}

}  // namespace

bool parse_timestamp(std::string_view text, TimestampMs& out) {
  switch (parse_canonical(text, out)) {
    case Canonical::valid: return true;
    case Canonical::invalid: return false;
    case Canonical::no: break;
  }
  const std::optional<TimestampMs> general = parse_timestamp_general(text);
  if (!general) return false;
  out = *general;
  return true;
}

std::optional<TimestampMs> parse_timestamp(std::string_view text) {
  TimestampMs t = 0;
  if (!parse_timestamp(text, t)) return std::nullopt;
  return t;
}

std::optional<TimestampMs> parse_us_datetime(std::string_view text) {
  std::string_view s = trim_blanks(text);
  std::size_t pos = 0;
  int mo = 0, d = 0, y = 0, h = 0, mi = 0, sec = 0, ms = 0;
  if (!read_var(s, pos, 2, mo) || pos >= s.size() || s[pos++] != '/' || !read_var(s, pos, 2, d) ||
      pos >= s.size() || s[pos++] != '/' || !read_fixed(s, pos, 4, y)) {
    return std::nullopt;
  }
  if (pos < s.size()) {
    if (s[pos] != ' ') return std::nullopt;
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (!read_clock(s, pos, false, h, mi, sec, ms) || pos != s.size()) return std::nullopt;
  }
  return make_timestamp(y, mo, d, h, mi, sec, ms);
}

void append_iso8601(std::string& out, TimestampMs t) {
  std::int64_t days = t >= 0 ? t / kMsPerDay : (t - kMsPerDay + 1) / kMsPerDay;
  std::int64_t rem = t - days * kMsPerDay;
  // civil_from_days (Howard Hinnant)
  std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  const int ms = static_cast<int>(rem % 1000);
  const int sec = static_cast<int>(rem / 1000 % 60);
  const int mi = static_cast<int>(rem / 60000 % 60);
  const int h = static_cast<int>(rem / 3600000);
  char buf[40];
  auto two = [](char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  const int yy = static_cast<int>(y);
  std::size_t n = 4;
  if (yy <= 9999) {
    buf[0] = static_cast<char>('0' + yy / 1000 % 10);
    buf[1] = static_cast<char>('0' + yy / 100 % 10);
    buf[2] = static_cast<char>('0' + yy / 10 % 10);
    buf[3] = static_cast<char>('0' + yy % 10);
  } else {
    // Epoch milliseconds reach past year 9999 (and a window may end there): all the year's digits.
    n = static_cast<std::size_t>(std::to_chars(buf, buf + 12, yy).ptr - buf);
  }
  char* p = buf + n;
  p[0] = '-';
  two(p + 1, static_cast<int>(m));
  p[3] = '-';
  two(p + 4, static_cast<int>(d));
  p[6] = 'T';
  two(p + 7, h);
  p[9] = ':';
  two(p + 10, mi);
  p[12] = ':';
  two(p + 13, sec);
  n += 15;
  if (ms != 0) {
    buf[n++] = '.';
    buf[n++] = static_cast<char>('0' + ms / 100);
    buf[n++] = static_cast<char>('0' + ms / 10 % 10);
    buf[n++] = static_cast<char>('0' + ms % 10);
  }
  buf[n++] = 'Z';
  out.append(buf, n);
}

std::string format_iso8601(TimestampMs t) {
  std::string s;
  append_iso8601(s, t);
  return s;
}

}  // namespace orderpulse
