#include <gtest/gtest.h>

#include "orderpulse/common/money.h"
#include "orderpulse/common/time.h"
#include "orderpulse/config/config.h"

namespace orderpulse {
namespace {

constexpr TimestampMs kT = 1506941760000;  // 2017-10-02T10:56:00Z

TEST(Timestamp, AcceptedForms) {
  struct Case {
    const char* text;
    TimestampMs want;
  } cases[] = {
      {"2017-10-02T10:56:00Z", kT},
      {"2017-10-02T10:56:00.123Z", kT + 123},
      {"2017-10-02T10:56:00.1Z", kT + 100},
      {"2017-10-02T10:56:00.123456789Z", kT + 123},
      {"2017-10-02T12:56:00+02:00", kT},
      {"2017-10-02T08:56:00-0200", kT},
      {"2017-10-02 10:56", kT},
      {"2017-10-02 10:56:00", kT},
      {"2017-10-02 10:56:00.5", kT + 500},
      {"2017-10-02T10:56", kT},
      {"1506941760000", kT},
      {"0", 0},
      {"2016-02-29T00:00:00Z", 1456704000000},
  };
  for (const auto& c : cases) {
    auto t = parse_timestamp(c.text);
    ASSERT_TRUE(t.has_value()) << c.text;
    EXPECT_EQ(*t, c.want) << c.text;
  }
}

TEST(Timestamp, RejectedForms) {
  for (const char* bad : {"", "yesterday", "2017-13-02T10:56:00Z", "2017-02-30T10:56:00Z", "2017-10-02T24:00:00Z",
                          "2017-10-02T10:60:00Z", "2017-10-02T10:56:00X", "2017-10-02", "2017-10-02T10:56:00Z junk",
                          "-5", "2015-02-29 00:00", "1e12", "2017-10-02T10:56:00+25:00", "12345678901234567"}) {
    EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
  }
}

// The canonical form remembers the last valid minute on the thread; each result must still be what
// the calendar says, whatever came before (valid, invalid, same minute with bad seconds, the same
// first 16 bytes in another form).
TEST(Timestamp, CanonicalMinuteMemoNeverLeaks) {
  struct Case {
    const char* text;
    std::optional<TimestampMs> want;
  } cases[] = {
      {"2016-02-29T00:00:00Z", 1456704000000},
      {"2016-02-29T23:59:59.999Z", 1456790399999},
      {"2016-02-29T24:00:00Z", std::nullopt},
      {"2016-02-29T10:60:00Z", std::nullopt},
      {"2016-02-29T10:00:60Z", std::nullopt},
      {"2015-02-29T00:00:00Z", std::nullopt},
      {"2015-02-29T00:00:00Z", std::nullopt},
      {"2016-02-29T00:00:01Z", 1456704001000},
      {"2017-10-02T10:56:00Z", kT},
      {"2017-10-02T10:56:00.123Z", kT + 123},
      {"2017-10-03T10:56:00Z", kT + 86'400'000},
      {"2017-10-02T10:56:00+02:00", kT - 2 * 3'600'000},
      {"2017-10-02T10:56:00Z", kT},
      {"1969-12-31T23:59:59Z", std::nullopt},
      {"2017-10-0xT10:56:00Z", std::nullopt},
      {"2017-10-02T10:56:00Z", kT},
      {"2017-10-02T10:56:59.999Z", kT + 59'999},
      {"2017-10-02T10:56:60Z", std::nullopt},
      {"2017-10-02T10:56:6xZ", std::nullopt},
      {"2017-10-02T10:56x00Z", std::nullopt},
      {"2017-10-02T10:56:00.5Z", kT + 500},
      {"2017-10-02T10:56:00.12Z", kT + 120},
      {"2017-10-02T10:56:00,123Z", kT + 123},
      {"2017-10-02T10:56:00.123+00:00", kT + 123},
      {"2017-10-02T10:56:01Z", kT + 1000},
      {"2017-10-02T10:57:01Z", kT + 61'000},
      {"2017-10-02T10:56:01Z", kT + 1000},
      {"2017-10-02 10:56:01Z", kT + 1000},
      {"2017-10-02t10:56:01Z", kT + 1000},
      {"2017-10-02T10:56:01Z", kT + 1000},
  };
  for (int round = 0; round < 2; ++round) {
    for (const auto& c : cases) {
      EXPECT_EQ(parse_timestamp(c.text), c.want) << c.text;
      TimestampMs out = -1;
      EXPECT_EQ(parse_timestamp(c.text, out), c.want.has_value()) << c.text;
      EXPECT_EQ(out, c.want.value_or(-1)) << c.text << ": the out-parameter is set only on success";
    }
  }
}

TEST(Timestamp, UsFormatAndFormatting) {
  EXPECT_EQ(parse_us_datetime("10/2/2017 10:56"), kT);
  EXPECT_EQ(parse_us_datetime("10/02/2017 10:56:00"), kT);
  EXPECT_EQ(parse_us_datetime("10/2/2017"), kT - (10 * 60 + 56) * 60000);
  EXPECT_FALSE(parse_us_datetime("13/2/2017 10:56").has_value());
  EXPECT_EQ(format_iso8601(kT), "2017-10-02T10:56:00Z");
  EXPECT_EQ(format_iso8601(kT + 7), "2017-10-02T10:56:00.007Z");
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00Z");
  for (TimestampMs t : {TimestampMs{0}, kT, TimestampMs{951782400000}, TimestampMs{253402300799999}})
    EXPECT_EQ(parse_timestamp(format_iso8601(t)), t);
  // Epoch milliseconds reach past year 9999 (up to 15 digits), and so may a window's end: the year
  // keeps all its digits.
  EXPECT_EQ(format_iso8601(253402300800000), "10000-01-01T00:00:00Z");
  EXPECT_EQ(format_iso8601(999999999999999), "33658-09-27T01:46:39.999Z");
  EXPECT_EQ(parse_timestamp("999999999999999"), TimestampMs{999999999999999});
  EXPECT_FALSE(parse_timestamp("1000000000000000").has_value());
}

TEST(Money, HalfEvenToCents) {
  struct Case {
    const char* text;
    Cents want;
  } cases[] = {{"0", 0},         {"12", 1200},      {"12.3", 1230},  {"12.34", 1234},  {"1.005", 100},
               {"1.015", 102},   {"2.675", 268},    {"2.665", 266},  {"0.125", 12},    {"0.135", 14},
               {"0.1251", 13},   {"1.5e2", 15000},  {"1E-2", 1},     {"5e-3", 0},      {"-1.25", -125},
               {".5", 50},       {"12.", 1200},     {"0000.10", 10}, {"1.00500000000000000001", 101},
               {"9999999999.99", 999999999999}};
  for (const auto& c : cases) {
    auto v = parse_decimal_cents(c.text);
    ASSERT_TRUE(v.has_value()) << c.text;
    EXPECT_EQ(*v, c.want) << c.text;
    Cents out = -1;
    EXPECT_TRUE(parse_decimal_cents(c.text, out)) << c.text;
    EXPECT_EQ(out, c.want) << c.text;
  }
  for (const char* bad : {"", "abc", "1.2.3", "1e", "--1", "1,5", "12 ", "99999999999999"}) {
    EXPECT_FALSE(parse_decimal_cents(bad).has_value()) << bad;
    Cents out = -1;
    EXPECT_FALSE(parse_decimal_cents(bad, out)) << bad;
    EXPECT_EQ(out, -1) << bad;
  }
  EXPECT_EQ(format_cents(123450), "1234.50");
  EXPECT_EQ(format_cents(5), "0.05");
  EXPECT_EQ(format_cents(0), "0.00");
  EXPECT_EQ(format_cents(-5), "-0.05");
  // Sums past 64 bits print whole.
  EXPECT_EQ(format_cents(CentsSum{INT64_MAX} + 1), "92233720368547758.08");
  EXPECT_EQ(format_cents(CentsSum{INT64_MIN} - 1), "-92233720368547758.09");
  EXPECT_EQ(format_cents(CentsSum{UINT64_MAX} * 1000 + 1), "184467440737095516150.01");
}

TEST(Config, DurationsAndErrors) {
  EXPECT_EQ(parse_duration("500ms"), 500);
  EXPECT_EQ(parse_duration("30s"), 30000);
  EXPECT_EQ(parse_duration("10m"), 600000);
  EXPECT_EQ(parse_duration("1h"), 3600000);
  EXPECT_THROW(parse_duration("10"), ConfigError);
  EXPECT_THROW(parse_duration("m"), ConfigError);
  EXPECT_THROW(parse_duration("10x"), ConfigError);
  EXPECT_EQ(format_duration(600000), "10m");
  EXPECT_EQ(format_duration(90000), "90s");
  Config d = Config::defaults();
  ASSERT_EQ(d.windows.size(), 2u);
  EXPECT_EQ(d.windows[0].name, "1m/1m");
  EXPECT_EQ(d.windows[1].name, "10m/1m");
  EXPECT_EQ(d.effective_dedup_horizon(), 600000);
  EXPECT_EQ(d.pane_size(), 60000);
  Config c = Config::parse_json(R"({"windows":[{"size":"30s","slide":"10s"},{"size":"5m"}],"watermark_delay":"5s"})", "t");
  EXPECT_EQ(c.windows[1].name, "5m/5m");
  EXPECT_EQ(c.pane_size(), 10000);
  try {
    Config::parse_json(R"({"watermark_dealy":"5s"})", "cfg.json");
    FAIL() << "unknown key accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("watermark_dealy"), std::string::npos);
  }
  EXPECT_THROW(Config::parse_json(R"({"windows":[{"size":"1m","slid":"1m"}]})", "t"), ConfigError);
  EXPECT_THROW(Config::parse_json(R"({"windows":[{"size":"1m","slide":"2m"}]})", "t"), ConfigError);
  EXPECT_THROW(Config::parse_json(R"({"top_n":0})", "t"), ConfigError);
  EXPECT_THROW(Config::parse_json(R"([1])", "t"), ConfigError);
  EXPECT_THROW(Config::parse_json(R"({"a":)", "t"), ConfigError);
  // Every JSON failure is a ConfigError naming the file: a number out of range, a NUL byte that
  // would end the text early; and no duration overflows.
  for (const std::string& text : {std::string(R"({"top_n":1e999})"), std::string(R"({"top_n":5})") + '\0' + "garbage",
                                 std::string(R"({"watermark_delay":"1000000000000d"})"),
                                 std::string(R"({"windows":[{"size":"250000000000d"}]})")}) {
    try {
      Config::parse_json(text, "cfg.json");
      FAIL() << "accepted: " << text;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cfg.json: ", 0), 0u) << e.what();
    }
  }
  // Window specs whose state would grow without bound: too many windows a record, too many panes.
  EXPECT_THROW(Config::parse_json(R"({"windows":[{"size":"10m","slide":"59ms"}]})", "t"), ConfigError);
  EXPECT_NO_THROW(Config::parse_json(R"({"windows":[{"size":"10m","slide":"60ms"}]})", "t"));
  EXPECT_THROW(Config::parse_json(R"({"windows":[{"size":"10m"},{"size":"60001ms"}]})", "t"), ConfigError);
  EXPECT_NO_THROW(Config::parse_json(R"({"windows":[{"size":"100s"},{"size":"1ms"}]})", "t"));
  EXPECT_THROW(Config::parse_json(R"({"windows":[{"size":"100001ms"},{"size":"1ms"}]})", "t"), ConfigError);
  EXPECT_EQ(parse_duration("11574074d"), 11574074LL * 86'400'000);
  EXPECT_THROW(parse_duration("11574075d"), ConfigError);
}

}  // namespace
}  // namespace orderpulse
