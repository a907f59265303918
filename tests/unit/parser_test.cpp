#include <gtest/gtest.h>

#include "orderpulse/event/csv.h"
#include "orderpulse/event/parser.h"
#include "test_support.h"

namespace orderpulse {
namespace {

struct Parsed {
  DropReason reason;
  Event event;
  std::vector<std::string> strings;  // copies, so the batch can go
};

Parsed parse_one(const std::string& text, const CsvSchema* schema = nullptr) {
  EventBatch batch;
  batch.add(text, 1, &test::test_origin(), RecordFormat{schema});
  batch.seal();
  RecordParser parser;
  parser.parse(batch);
  Parsed p{batch.events()[0].reason, batch.events()[0], {}};
  for (auto sv : {p.event.order_id, p.event.customer_id, p.event.product_id, p.event.category}) p.strings.emplace_back(sv);
  return p;
}

const std::string kGood =
    R"({"order_id":"o1","line":2,"customer_id":"c1","product_id":"p1","category":"toys","quantity":3,"unit_price":12.345,"event_time":"2017-10-02T10:56:00Z"})";

TEST(NdjsonParser, GoodRecord) {
  Parsed p = parse_one(kGood);
  ASSERT_EQ(p.reason, DropReason::none);
  EXPECT_EQ(p.strings[0], "o1");
  EXPECT_EQ(p.event.line, 2);
  EXPECT_EQ(p.strings[1], "c1");
  EXPECT_EQ(p.strings[2], "p1");
  EXPECT_EQ(p.strings[3], "toys");
  EXPECT_EQ(p.event.quantity, 3);
  EXPECT_EQ(p.event.unit_price, 1234);
  EXPECT_EQ(p.event.event_time, 1506941760000);
}

TEST(NdjsonParser, DefaultsEscapesAndUnknownFields) {
  Parsed p = parse_one(
      R"({"extra":{"nested":[1,2,{"x":"y"}]},"order_id":"o\"1\u00e9","customer_id":"c","product_id":"p","unit_price":"7","event_time":1506941760000,"category":null})");
  ASSERT_EQ(p.reason, DropReason::none);
  EXPECT_EQ(p.strings[0], "o\"1\xC3\xA9");
  EXPECT_EQ(p.event.line, 1);
  EXPECT_EQ(p.event.quantity, 1);
  EXPECT_EQ(p.event.unit_price, 700);
  EXPECT_EQ(p.strings[3], "");
}

TEST(NdjsonParser, RejectionTable) {
  const std::string base_tail = R"("customer_id":"c","product_id":"p","unit_price":1,"event_time":"2017-10-02T10:56:00Z")";
  struct Case {
    std::string text;
    DropReason want;
  } cases[] = {
      {"garbage", DropReason::malformed_json},
      {"[1,2,3]", DropReason::malformed_json},
      {"42", DropReason::malformed_json},
      {R"({"order_id":"o1",)", DropReason::malformed_json},
      {"{\"order_id\":\"o1\"} {}", DropReason::malformed_json},
      {"{\"order_id\":\"\xff\xfe\"," + base_tail + "}", DropReason::malformed_json},
      {"{" + base_tail + "}", DropReason::missing_order_id},
      {R"({"order_id":null,)" + base_tail + "}", DropReason::missing_order_id},
      {R"({"order_id":"",)" + base_tail + "}", DropReason::bad_order_id},
      {R"({"order_id":12,)" + base_tail + "}", DropReason::bad_order_id},
      {"{\"order_id\":\"" + std::string(65, 'x') + "\"," + base_tail + "}", DropReason::bad_order_id},
      {R"({"order_id":"o","line":0,)" + base_tail + "}", DropReason::bad_line},
      {R"({"order_id":"o","line":1.5,)" + base_tail + "}", DropReason::bad_line},
      {R"({"order_id":"o","line":"1",)" + base_tail + "}", DropReason::bad_line},
      {R"({"order_id":"o","product_id":"p","unit_price":1,"event_time":1})", DropReason::missing_customer_id},
      {R"({"order_id":"o","customer_id":"c","unit_price":1,"event_time":1})", DropReason::missing_product_id},
      {R"({"order_id":"o","customer_id":"c","product_id":"p","event_time":1})", DropReason::missing_unit_price},
      {R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":1})", DropReason::missing_event_time},
      {R"({"order_id":"o","category":7,)" + base_tail + "}", DropReason::bad_category},
      {R"({"order_id":"o","quantity":0,)" + base_tail + "}", DropReason::bad_quantity},
      {R"({"order_id":"o","quantity":10001,)" + base_tail + "}", DropReason::bad_quantity},
      {R"({"order_id":"o","quantity":"two",)" + base_tail + "}", DropReason::bad_quantity},
      {R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":-0.01,"event_time":1})", DropReason::bad_unit_price},
      {R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":"abc","event_time":1})", DropReason::bad_unit_price},
      {R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":true,"event_time":1})", DropReason::bad_unit_price},
      {R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":1,"event_time":"yesterday"})", DropReason::bad_timestamp},
      {R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":1,"event_time":"2024-13-45T99:00:00Z"})", DropReason::bad_timestamp},
      {R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":1,"event_time":1.5})", DropReason::bad_timestamp},
      {R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":1,"event_time":-5})", DropReason::bad_timestamp},
      {R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":1,"event_time":{}})", DropReason::bad_timestamp},
  };
  for (const auto& c : cases) EXPECT_EQ(to_string(parse_one(c.text).reason), to_string(c.want)) << c.text;
}

// What is not JSON is malformed in any field, known or unknown, however simdjson's On-Demand API
// (which reads only what it is asked for) would skip it; keys are compared after unescaping.
TEST(NdjsonParser, OnlyJsonIsReadAndKeysAreUnescaped) {
  const std::string tail = R"("customer_id":"c","product_id":"p","unit_price":1,"event_time":1})";
  auto with = [&](const std::string& field) { return parse_one(R"({"order_id":"o",)" + field + "," + tail); };
  for (const std::string field : {R"("quantity":007)", R"("quantity":1abc)", R"("quantity":1.)", R"("quantity":-)",
                                  R"("quantity":nul)", R"("quantity":tru)", R"("line":falsey)", R"("x":[1,,2])",
                                  R"("x":[1 2])", R"("x":"\x")", R"("x":{"a":1,})", R"("x":{"a" 1})", R"("x":[01])",
                                  R"("x":nope)", R"("x":-e1)", R"("category":{,})", R"("category":[1,[2,]])",
                                  R"("x\q":1)"})
    EXPECT_EQ(to_string(with(field).reason), "malformed_json") << field;
  EXPECT_EQ(parse_one(R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":01,"event_time":1})").reason,
            DropReason::malformed_json);
  // Valid JSON the fields do not read is still ignored.
  for (const std::string field : {R"("x":[1,-2.5e+3,0,{"a":[true,false,null]},"\u00e9\n"])", R"("x":{})", R"("x":[])",
                                  R"("x":-0)", R"("":1)", R"("x":1E5)"})
    EXPECT_EQ(with(field).reason, DropReason::none) << field;
  // Escaped keys name their fields.
  Parsed p = parse_one(R"({"order\u005fid":"o1","pro\u0064uct_id":"p9","customer_id":"c","unit_price":1,"event_time":1})");
  ASSERT_EQ(p.reason, DropReason::none);
  EXPECT_EQ(p.strings[0], "o1");
  EXPECT_EQ(p.strings[2], "p9");
  EXPECT_EQ(parse_one(R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":1,"event_\u0074ime":"x"})").reason,
            DropReason::bad_timestamp);
}

// Ids are 1..64 characters, counted in code points; a category has no length rule; a price below
// zero is rejected even when it rounds to zero cents.
TEST(NdjsonParser, IdLengthsInCharactersAndNegativePricesNearZero) {
  auto id_of = [](const std::string& id) {
    return parse_one(R"({"order_id":")" + id + R"(","customer_id":"c","product_id":"p","unit_price":1,"event_time":1})");
  };
  std::string e_acute;
  for (int i = 0; i < 64; ++i) e_acute += "\xC3\xA9";
  EXPECT_EQ(id_of(e_acute).reason, DropReason::none);  // 128 bytes, 64 characters
  EXPECT_EQ(id_of(e_acute + "x").reason, DropReason::bad_order_id);
  EXPECT_EQ(id_of(std::string(64, 'x')).reason, DropReason::none);
  EXPECT_EQ(id_of(R"(\ud83d\ude00)" + std::string(63, 'x')).reason, DropReason::none);  // one 4-byte character
  EXPECT_EQ(id_of(R"(\ud83d\ude00)" + std::string(64, 'x')).reason, DropReason::bad_order_id);
  Parsed c = parse_one(R"({"order_id":"o","category":")" + std::string(300, 'k') +
                       R"(","customer_id":"c","product_id":"p","unit_price":1,"event_time":1})");
  ASSERT_EQ(c.reason, DropReason::none);
  EXPECT_EQ(c.strings[3].size(), 300u);
  auto price_of = [](const std::string& price) {
    return parse_one(R"({"order_id":"o","customer_id":"c","product_id":"p","unit_price":)" + price + R"(,"event_time":1})");
  };
  for (const std::string bad : {"-0.004", "-0.005", "-1e-9", R"("-0.001")", "-0.01"})
    EXPECT_EQ(price_of(bad).reason, DropReason::bad_unit_price) << bad;
  for (const std::string zero : {"-0.00", "-0", "0.004", R"("-0.000")", "-0e5"}) {
    Parsed p = price_of(zero);
    EXPECT_EQ(p.reason, DropReason::none) << zero;
    EXPECT_EQ(p.event.unit_price, 0) << zero;
  }
}

// Integers are read by a short-digit path (up to nine bare digits) and a general one: both sides of
// that boundary, and every form the general path must still turn away or accept.
TEST(NdjsonParser, IntegerFieldsOnBothReadingPaths) {
  const std::string tail = R"("customer_id":"c","product_id":"p","unit_price":1,"event_time":1})";
  auto line_of = [&](const std::string& v) { return parse_one(R"({"order_id":"o","line":)" + v + "," + tail); };
  struct Case {
    std::string value;
    DropReason want;
    std::int32_t line;
  } cases[] = {
      {"7", DropReason::none, 7},
      {"007", DropReason::malformed_json, 0},  // not a JSON number
      {"999999999", DropReason::none, 999999999},
      {"1234567890", DropReason::none, 1234567890},
      {"2147483647", DropReason::none, 2147483647},
      {"2147483648", DropReason::bad_line, 0},
      {"99999999999999999999", DropReason::bad_line, 0},
      {"-1", DropReason::bad_line, 0},
      {"0", DropReason::bad_line, 0},
      {"1e2", DropReason::bad_line, 0},
      {"12.0", DropReason::bad_line, 0},
  };
  for (const auto& c : cases) {
    Parsed p = line_of(c.value);
    EXPECT_EQ(to_string(p.reason), to_string(c.want)) << c.value;
    if (c.want == DropReason::none) {
      EXPECT_EQ(p.event.line, c.line) << c.value;
    }
  }
  std::vector<std::string_view> header = {"order_id", "line", "customer_id", "product_id", "unit_price", "event_time", "quantity"};
  CsvSchema schema = CsvSchema::from_header(header);
  Parsed p = parse_one("o1, 12 ,c1,p1,1.00,1506941760000,\t3", &schema);
  ASSERT_EQ(p.reason, DropReason::none);
  EXPECT_EQ(p.event.line, 12);
  EXPECT_EQ(p.event.quantity, 3);
  EXPECT_EQ(parse_one("o1,+2,c1,p1,1.00,1506941760000,1", &schema).reason, DropReason::bad_line);
  EXPECT_EQ(parse_one("o1,1,c1,p1,1.00,1506941760000,10000", &schema).reason, DropReason::none);
  EXPECT_EQ(parse_one("o1,1,c1,p1,1.00,1506941760000,1 0", &schema).reason, DropReason::bad_quantity);
}

// NDJSON lines of a batch are parsed a window at a time; every line must still get the result it
// gets alone. The faults below break a window in each way it can break: an unclosed string (which
// turns the rest of the window inside out), a second object or garbage after the object, an
// unclosed object, a line that is not an object, invalid UTF-8, a raw control character, blanks.
std::vector<std::string> window_faults(const std::string& good) {
  const std::string body = good.substr(0, good.size() - 1);
  return {
      good.substr(0, good.size() / 2),
      R"({"order_id":"o1,"line":2})",
      body + R"(,"x":"abc)",
      good + good,
      good + " " + good,
      good + " x",
      good + "}",
      good + "\"",
      good + "\\",
      good + ",",
      body + R"(,"nested":{"a":1})",
      body + R"(,"nested":{"a":[1,{"b":"}"}]}})",
      "[" + good + "]",
      R"("a string")",
      "12345",
      "null",
      "{}",
      "}{",
      R"({"a":")",
      "\"",
      R"({"a":"}\")",
      body + ",\"bad\":\"\xff\xfe\"}",
      body + ",\"tab\":\"\t\"}",
      body + R"(,"s":"a\"b\\"})",
      body + R"(,"type":"restock"})",
      body + R"(,"type":"\u0072estock"})",
      R"({"order_id":"o\"1","customer_id":"c\\","product_id":"p","unit_price":1,"event_time":1})",
      "  \t" + good + " \r",
      "   ",
      "",
      good + std::string(1, '\0'),
      "\xEF\xBB\xBF" + good,
      R"({"order\u005fid":"o1","customer_id":"c","product_id":"p","unit_price":1,"event_time":1})",
      good.substr(0, good.size() - 3) + "\xC3",
      body + R"(,"pad":")" + std::string(RecordParser::kWindowBytes, 'x') + "\"}",
  };
}

TEST(NdjsonParser, WindowedBatchMatchesLineByLine) {
  std::vector<std::string> lines;
  const auto faults = window_faults(kGood);
  std::uint32_t seed = 7;
  auto rnd = [&seed] { return (seed = seed * 1103515245u + 12345u) >> 16; };
  // Faults alone, in runs, at the start and end of the batch and of windows, and far apart.
  for (const auto& f : faults) lines.push_back(f);
  for (int i = 0; i < 3000; ++i) {
    const unsigned r = rnd() % 100;
    if (r < 4) {
      lines.push_back(faults[rnd() % faults.size()]);
    } else {
      std::string l = kGood;
      l.replace(l.find("\"o1\""), 4, "\"o" + std::to_string(i) + "\"");
      lines.push_back(l);
    }
  }
  for (const auto& f : faults) lines.push_back(f);
  lines.push_back(kGood);

  static const CsvSchema schema = CsvSchema::from_header({"order_id", "customer_id", "product_id", "unit_price", "event_time"});
  EventBatch batch;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    // A CSV record and over-long ones split the NDJSON runs now and then.
    if (i % 997 == 500) batch.add("o,c,p,1,1", i, &test::test_origin(), RecordFormat{&schema});
    if (i % 1499 == 700) batch.add(lines[i], i, &test::test_origin(), {}, RecordFlag::too_long);
    batch.add(lines[i], i, &test::test_origin(), {});
  }
  batch.seal();
  RecordParser parser;
  parser.parse(batch);
  ASSERT_EQ(batch.events().size(), batch.size());
  std::size_t accepted = 0, malformed = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const RawRecord& rec = batch.record(i);
    const Event& got = batch.events()[i];
    EventBatch single;
    single.add(batch.text(rec), rec.position, rec.origin, rec.format, rec.flag);
    single.seal();
    RecordParser alone;
    alone.parse(single);
    const Event& want = single.events()[0];
    const std::string context = "record " + std::to_string(i) + ": " + std::string(batch.text(rec).substr(0, 120));
    ASSERT_EQ(to_string(got.reason), to_string(want.reason)) << context;
    EXPECT_EQ(got.status, want.status) << context;
    EXPECT_EQ(got.record, i) << context;
    if (want.reason != DropReason::none) {
      malformed += want.reason == DropReason::malformed_json;
      continue;
    }
    ++accepted;
    EXPECT_EQ(got.kind, want.kind) << context;
    EXPECT_EQ(got.order_id, want.order_id) << context;
    EXPECT_EQ(got.customer_id, want.customer_id) << context;
    EXPECT_EQ(got.product_id, want.product_id) << context;
    EXPECT_EQ(got.category, want.category) << context;
    EXPECT_EQ(got.quantity, want.quantity) << context;
    EXPECT_EQ(got.line, want.line) << context;
    EXPECT_EQ(got.unit_price, want.unit_price) << context;
    EXPECT_EQ(got.event_time, want.event_time) << context;
    EXPECT_EQ(got.dedup_hash, want.dedup_hash) << context;
  }
  // The batch exercised both outcomes at scale.
  EXPECT_GT(accepted, 2500u);
  EXPECT_GT(malformed, 100u);
}

TEST(NdjsonParser, WindowFaultsEachMatchLineByLine) {
  // Each fault between good lines, so it lands in the middle of a window.
  for (const auto& f : window_faults(kGood)) {
    EventBatch batch;
    for (int i = 0; i < 5; ++i) batch.add(kGood, 1, &test::test_origin(), {});
    batch.add(f, 1, &test::test_origin(), {});
    for (int i = 0; i < 5; ++i) batch.add(kGood, 1, &test::test_origin(), {});
    batch.seal();
    RecordParser parser;
    parser.parse(batch);
    const std::string context = f.substr(0, 120);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (i == 5) {
        EXPECT_EQ(to_string(batch.events()[i].reason), to_string(parse_one(f).reason)) << context;
      } else {
        EXPECT_EQ(batch.events()[i].reason, DropReason::none) << context << " (line " << i << ")";
        EXPECT_EQ(batch.events()[i].order_id, "o1") << context;
      }
    }
  }
}

TEST(NdjsonParser, EscapesAnywhereInAWindowAreUnescaped) {
  // The window parse vouches for backslash-free text up to the first backslash it finds, then
  // scans again from the next line: escapes before, at and after that point, and in an ignored
  // field followed by known ones, must each read as alone.
  const std::vector<std::string> lines = {
      R"({"order_id":"o1","customer_id":"c1","product_id":"p1","unit_price":1,"event_time":1})",
      R"({"order_id":"o2","customer_id":"c\u0032","product_id":"p\\2","unit_price":1,"event_time":1})",
      R"({"order_id":"o3","customer_id":"c3","product_id":"p3","unit_price":1,"event_time":1})",
      R"({"note":"x\"y","order_id":"o\/4","customer_id":"c4","product_id":"p4","unit_price":1,"event_time":1})",
      R"({"order_id":"o5","customer_id":"c5","category":"a\tb","product_id":"p5","unit_price":1,"event_time":1})",
      R"({"order_id":"o6","customer_id":"c6","product_id":"p6","unit_price":1,"event_time":1})",
  };
  const std::vector<std::array<std::string, 4>> want = {
      {"o1", "c1", "p1", ""}, {"o2", "c2", "p\\2", ""}, {"o3", "c3", "p3", ""},
      {"o/4", "c4", "p4", ""}, {"o5", "c5", "p5", "a\tb"}, {"o6", "c6", "p6", ""}};
  for (std::size_t skip = 0; skip < lines.size(); ++skip) {
    EventBatch batch;
    for (std::size_t i = skip; i < lines.size(); ++i) batch.add(lines[i], i, &test::test_origin(), {});
    batch.seal();
    RecordParser parser;
    parser.parse(batch);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Event& e = batch.events()[i];
      const auto& w = want[skip + i];
      ASSERT_EQ(e.reason, DropReason::none) << lines[skip + i];
      EXPECT_EQ(e.order_id, w[0]) << lines[skip + i];
      EXPECT_EQ(e.customer_id, w[1]) << lines[skip + i];
      EXPECT_EQ(e.product_id, w[2]) << lines[skip + i];
      EXPECT_EQ(e.category, w[3]) << lines[skip + i];
    }
  }
}

TEST(Csv, SplitRecord) {
  std::vector<std::string_view> f;
  std::string scratch;
  ASSERT_TRUE(split_csv_record(R"(a,"b,c","d ""q""",,"line1
line2")", f, scratch));
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0], "a");
  EXPECT_EQ(f[1], "b,c");
  EXPECT_EQ(f[2], "d \"q\"");
  EXPECT_EQ(f[3], "");
  EXPECT_EQ(f[4], "line1\nline2");
  ASSERT_TRUE(split_csv_record("a,", f, scratch));
  EXPECT_EQ(f.size(), 2u);
  EXPECT_FALSE(split_csv_record(R"(a,"b)", f, scratch));
  EXPECT_FALSE(split_csv_record(R"(a,"b"c)", f, scratch));
  EXPECT_FALSE(split_csv_record(R"(a,b"c)", f, scratch));
  std::string out;
  append_csv_field(out, "x,\"y\"");
  EXPECT_EQ(out, R"("x,""y""")");
}

TEST(CsvParser, SchemaAnyOrderAndRejections) {
  std::vector<std::string_view> header = {"event_time", "unit_price", "product_id", "ignored", "customer_id", "order_id", "line", "quantity"};
  CsvSchema schema = CsvSchema::from_header(header);
  Parsed p = parse_one(R"(2017-10-02 10:56:00,"1,5",p1,zzz,"c ""1""",o1,,3)", &schema);
  EXPECT_EQ(p.reason, DropReason::bad_unit_price);  // "1,5" is not a decimal
  p = parse_one(R"(2017-10-02 10:56:00,1.25,p1,zzz,"c ""1""",o1,,3)", &schema);
  ASSERT_EQ(p.reason, DropReason::none);
  EXPECT_EQ(p.strings[1], "c \"1\"");
  EXPECT_EQ(p.event.line, 1);
  EXPECT_EQ(p.event.quantity, 3);
  EXPECT_EQ(p.event.unit_price, 125);
  EXPECT_EQ(parse_one("2017-10-02 10:56:00,1.25,p1,zzz,c1,o1,,3,extra", &schema).reason, DropReason::malformed_csv);
  EXPECT_EQ(parse_one("2017-10-02 10:56:00,1.25,p1,zzz,c1,,,3", &schema).reason, DropReason::missing_order_id);
  EXPECT_EQ(parse_one("1506941760000,1.25,p1,zzz,c1,o1,2,x", &schema).reason, DropReason::bad_quantity);
  EXPECT_EQ(parse_one("1506941760000,1.25,p1,zzz,c1,o1,2,", &schema).reason, DropReason::none);
  EXPECT_EQ(parse_one("10/2/2017 10:56,1.25,p1,zzz,c1,o1,2,", &schema).reason, DropReason::bad_timestamp);
  // CSV text is UTF-8, as JSON's is: an invalid byte anywhere makes the record malformed.
  EXPECT_EQ(parse_one("1506941760000,1.25,p1\xff,zzz,c1,o1,2,", &schema).reason, DropReason::malformed_csv);
  EXPECT_EQ(parse_one("1506941760000,1.25,p1,\"z\xC3\",c1,o1,2,", &schema).reason, DropReason::malformed_csv);
  p = parse_one("1506941760000,1.25,p\xC3\xA9,zzz,c1,o1,2,", &schema);
  ASSERT_EQ(p.reason, DropReason::none);
  EXPECT_EQ(p.strings[2], "p\xC3\xA9");
}

}  // namespace
}  // namespace orderpulse
