#include <gtest/gtest.h>

#include <map>
#include <random>

#include "test_support.h"

namespace orderpulse {
namespace {

using test::order_line;
using test::run_lines;
using test::Collected;
using test::test_origin;

Config one_minute_tumbling() {
  Config c = Config::parse_json(R"({"windows":[{"size":"1m","slide":"1m"}],"watermark_delay":"30s"})", "test");
  return c;
}

TEST(Engine, WindowAssignmentAtBoundaries) {
  // [start, end): 10:00:59.999 is in the first minute, 10:01:00 in the next.
  auto out = run_lines({order_line("a", 1, "c", "p", "1", "2024-01-01T10:00:00Z"),
                        order_line("b", 1, "c", "p", "2", "2024-01-01T10:00:59.999Z"),
                        order_line("d", 1, "c", "p", "4", "2024-01-01T10:01:00Z")},
                       one_minute_tumbling(), 1000);
  ASSERT_EQ(out.windows.size(), 2u);
  EXPECT_NE(out.windows[0].find(R"("start":"2024-01-01T10:00:00Z","end":"2024-01-01T10:01:00Z","lines":2)"), std::string::npos);
  EXPECT_NE(out.windows[0].find(R"("revenue":3.00)"), std::string::npos);
  EXPECT_NE(out.windows[1].find(R"("start":"2024-01-01T10:01:00Z","end":"2024-01-01T10:02:00Z","lines":1)"), std::string::npos);
}

TEST(Engine, LatenessBoundaryIsStrict) {
  // Max accepted 10:01:00 -> watermark 10:00:30. A record at exactly the watermark is accepted,
  // one millisecond before it is late.
  EngineStats stats;
  auto out = run_lines({order_line("a", 1, "c", "p", "1", "2024-01-01T10:01:00Z"),
                        order_line("b", 1, "c", "p", "1", "2024-01-01T10:00:30Z"),
                        order_line("d", 1, "c", "p", "1", "2024-01-01T10:00:29.999Z")},
                       one_minute_tumbling(), 1, nullptr, &stats);
  EXPECT_EQ(stats.accepted, 2u);
  EXPECT_EQ(stats.late, 1u);
  ASSERT_EQ(out.drops.size(), 1u);
  EXPECT_EQ(out.drops[0].first, DropReason::late);
  EXPECT_EQ(out.drops[0].second, 3u);
}

TEST(Engine, DedupHorizon) {
  // Horizon 1m, delay 30s. A duplicate of a record still within wm - horizon is dropped; once the
  // original's time falls below wm - horizon, the same key is accepted again.
  Config c = Config::parse_json(R"({"windows":[{"size":"1m"}],"watermark_delay":"30s","dedup_horizon":"1m"})", "t");
  EngineStats stats;
  auto out = run_lines({order_line("o", 1, "c", "p", "1", "2024-01-01T10:00:00Z"),
                        order_line("o", 1, "c", "p", "1", "2024-01-01T10:00:00Z"),   // duplicate
                        order_line("o", 2, "c", "p", "1", "2024-01-01T10:00:00Z"),   // other line: accepted
                        order_line("x", 1, "c", "p", "1", "2024-01-01T10:01:30Z"),   // wm 10:01:00, min 10:00:00
                        order_line("o", 1, "c", "p", "1", "2024-01-01T10:01:10Z"),   // 10:00:00 >= min: duplicate
                        order_line("y", 1, "c", "p", "1", "2024-01-01T10:01:31Z"),   // wm 10:01:01, min 10:00:01
                        order_line("o", 1, "c", "p", "1", "2024-01-01T10:01:20Z")},  // original out of horizon: accepted
                       c, 1, nullptr, &stats);
  EXPECT_EQ(stats.duplicate, 2u);
  EXPECT_EQ(stats.accepted, 5u);
  ASSERT_EQ(out.drops.size(), 2u);
  EXPECT_EQ(out.drops[0].second, 2u);
  EXPECT_EQ(out.drops[1].second, 5u);
}

TEST(Engine, TopProductsTiesByIdAndCategoriesOrder) {
  Config c = Config::parse_json(R"({"windows":[{"size":"1m"}],"top_n":3})", "t");
  auto out = run_lines({order_line("a", 1, "c", "pB", "5", "2024-01-01T10:00:00Z"),
                        order_line("b", 1, "c", "pA", "5", "2024-01-01T10:00:01Z"),
                        order_line("d", 1, "c", "pC", "2.50", "2024-01-01T10:00:02Z", 2),
                        order_line("e", 1, "c", "pD", "1", "2024-01-01T10:00:03Z")},
                       c, 1000);
  ASSERT_EQ(out.windows.size(), 1u);
  EXPECT_NE(out.windows[0].find(
                R"("top_products":[{"product_id":"pA","revenue":5.00,"items":1},{"product_id":"pB","revenue":5.00,"items":1},{"product_id":"pC","revenue":5.00,"items":2}])"),
            std::string::npos)
      << out.windows[0];
  EXPECT_NE(out.windows[0].find(R"("categories":[{"category":"unknown","revenue":16.00}])"), std::string::npos);
}

TEST(Engine, SlidingWindowsAndEmissionOrder) {
  Config c = Config::parse_json(R"({"windows":[{"size":"1m"},{"size":"2m","slide":"1m"}]})", "t");
  auto out = run_lines({order_line("a", 1, "c", "p", "1", "2024-01-01T10:00:10Z"),
                        order_line("b", 1, "c", "p", "2", "2024-01-01T10:01:10Z")},
                       c, 1000);
  std::vector<std::string> heads;
  for (const auto& w : out.windows) heads.push_back(w.substr(0, w.find(",\"lines\"")));
  std::vector<std::string> want = {
      R"({"window":"1m/1m","start":"2024-01-01T10:00:00Z","end":"2024-01-01T10:01:00Z")",
      R"({"window":"2m/1m","start":"2024-01-01T09:59:00Z","end":"2024-01-01T10:01:00Z")",
      R"({"window":"1m/1m","start":"2024-01-01T10:01:00Z","end":"2024-01-01T10:02:00Z")",
      R"({"window":"2m/1m","start":"2024-01-01T10:00:00Z","end":"2024-01-01T10:02:00Z")",
      R"({"window":"2m/1m","start":"2024-01-01T10:01:00Z","end":"2024-01-01T10:03:00Z")",
  };
  EXPECT_EQ(heads, want);
  EXPECT_NE(out.windows[3].find(R"("lines":2,"items":2,"orders":2,"revenue":3.00)"), std::string::npos);
}

std::vector<std::string> random_stream(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> lines;
  const TimestampMs base = 1704067200000;
  for (std::size_t i = 0; i < n; ++i) {
    const TimestampMs t = base + static_cast<TimestampMs>(i) * 200 - static_cast<TimestampMs>(rng() % 40'000);
    const std::size_t order = rng() % 10 == 0 && i > 10 ? i - rng() % 10 : i;  // some duplicates
    std::string line = order_line("o" + std::to_string(order), 1, "c" + std::to_string(rng() % 500), "p" + std::to_string(rng() % 50),
                                  std::to_string(rng() % 10000 / 100.0), format_iso8601(t), 1 + static_cast<int>(rng() % 3));
    if (rng() % 50 == 0) line = "{broken";
    lines.push_back(line);
  }
  return lines;
}

TEST(Engine, ARecordBehindTheFinalizedTimeStillCountsInTheWindowsStillOpen) {
  // Sliding windows carry their sums from one final window to the next. A source back from idle
  // may add a record to a pane those sums already hold: the next window must count it.
  Config c = Config::parse_json(R"({"windows":[{"size":"3m","slide":"1m"}],"watermark_delay":"1s","idle_timeout":"1s"})", "t");
  Engine engine(c, nullptr);
  Collected out;
  engine.add_sink(out);
  static RecordOrigin source_a{1, "file", "file", "a"}, source_b{2, "file", "file", "b"};
  EventBatch batch;
  std::uint64_t position = 0;
  auto send = [&](const RecordOrigin& origin, const std::string& id, const std::string& time) {
    batch.clear();
    batch.add(order_line(id, 1, "c", "p", "1", time), ++position, &origin, {});
    batch.seal();
    engine.process(batch);
  };
  TimestampMs now = 1'000'000;
  engine.set_clock(now);
  send(source_a, "a0", "2024-01-01T10:00:10Z");
  send(source_b, "b0", "2024-01-01T10:00:20Z");
  for (int m = 1; m <= 4; ++m) {
    engine.set_clock(now += 2'000);  // source b idle: a alone moves the watermark
    send(source_a, "a" + std::to_string(m), "2024-01-01T10:0" + std::to_string(m) + ":10Z");
  }
  engine.set_clock(now += 2'000);
  // Final now: windows ending up to 10:04. Source b comes back within its own watermark.
  ASSERT_FALSE(out.windows.empty());
  EXPECT_NE(out.windows.back().find(R"("end":"2024-01-01T10:04:00Z")"), std::string::npos) << out.windows.back();
  send(source_b, "b1", "2024-01-01T10:03:30Z");
  engine.finish();
  std::map<std::string, std::string> by_start;
  for (const auto& w : out.windows) by_start[w.substr(w.find("\"start\""), 32)] = w;
  const std::string& w = by_start[R"("start":"2024-01-01T10:02:00Z",")"];
  EXPECT_NE(w.find(R"("lines":4,)"), std::string::npos) << w;
  EXPECT_EQ(engine.stats().accepted, 7u);
}

TEST(Engine, MicroBatchBoundariesDoNotChangeResults) {
  const auto lines = random_stream(20'000, 7);
  const Config c = Config::defaults();
  EngineStats ref_stats;
  const auto ref = run_lines(lines, c, 65536, nullptr, &ref_stats);
  ASSERT_GT(ref.windows.size(), 100u);
  ASSERT_GT(ref_stats.late, 0u);
  ASSERT_GT(ref_stats.duplicate, 0u);
  for (std::size_t size : {1u, 7u, 1000u}) {
    EngineStats stats;
    const auto got = run_lines(lines, c, size, nullptr, &stats);
    EXPECT_EQ(got.windows, ref.windows) << "batch size " << size;
    EXPECT_EQ(got.drops, ref.drops) << "batch size " << size;
    EXPECT_EQ(stats.by_reason, ref_stats.by_reason);
    // The counters too: small batches mix ones with no drop (counted from Admission's tally
    // alone) and ones with drops.
    EXPECT_EQ(stats.read, ref_stats.read) << "batch size " << size;
    EXPECT_EQ(stats.accepted, ref_stats.accepted) << "batch size " << size;
    EXPECT_EQ(stats.rejected, ref_stats.rejected) << "batch size " << size;
    EXPECT_EQ(stats.late, ref_stats.late) << "batch size " << size;
    EXPECT_EQ(stats.duplicate, ref_stats.duplicate) << "batch size " << size;
    EXPECT_EQ(stats.first_event_time, ref_stats.first_event_time) << "batch size " << size;
    EXPECT_EQ(stats.last_event_time, ref_stats.last_event_time) << "batch size " << size;
  }
}

TEST(Engine, ConservationOfRecords) {
  const auto lines = random_stream(5'000, 11);
  EngineStats s;
  auto out = run_lines(lines, Config::defaults(), 333, nullptr, &s);
  EXPECT_EQ(s.read, lines.size());
  EXPECT_EQ(s.read, s.accepted + s.rejected + s.late + s.duplicate);
  EXPECT_EQ(out.drops.size(), s.rejected + s.late + s.duplicate);
  std::uint64_t by_reason = 0;
  for (auto n : s.by_reason) by_reason += n;
  EXPECT_EQ(by_reason, out.drops.size());
}

}  // namespace
}  // namespace orderpulse

namespace orderpulse {
namespace {

// Writes `text` to `path` (a catalog for the test).
void write_file(const std::string& path, const char* text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr) << path;
  std::fputs(text, f);
  std::fclose(f);
}

// The one-line error loading the catalog at `path` gives, or "" when it loads.
std::string catalog_error(const std::string& path) {
  try {
    Catalog::load_csv(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(Engine, CatalogFillsCategoriesAndTracksStock) {
  const std::string path = ::testing::TempDir() + "/catalog_test.csv";
  write_file(path, "product_id,category,stock,reorder_level\r\npA,toys,10,2\n\"pB\",\"home, garden\",5,1\npC,,7,1\n");
  auto catalog = std::make_shared<const Catalog>(Catalog::load_csv(path));
  ASSERT_EQ(catalog->size(), 3u);
  Engine engine(Config::parse_json(R"({"windows":[{"size":"1m"}]})", "t"), catalog);
  test::Collected out;
  engine.add_sink(out);
  EventBatch batch;
  for (const auto& line : {test::order_line("o1", 1, "c", "pA", "1", "2024-01-01T10:00:00Z", 3),
                           test::order_line("o2", 1, "c", "pB", "2", "2024-01-01T10:00:01Z", 2),
                           test::order_line("o3", 1, "c", "pC", "4", "2024-01-01T10:00:02Z"),
                           test::order_line("o4", 1, "c", "pZ", "8", "2024-01-01T10:00:03Z"),
                           test::order_line("o1", 1, "c", "pA", "1", "2024-01-01T10:00:04Z", 3)})  // duplicate
    batch.add(line, 1, &test::test_origin(), {});
  batch.seal();
  engine.process(batch);
  engine.finish();
  EXPECT_EQ(engine.enrichment().stock("pA"), 7);  // the duplicate does not sell again
  EXPECT_EQ(engine.enrichment().stock("pB"), 3);
  EXPECT_EQ(engine.enrichment().stock("pC"), 6);
  EXPECT_EQ(engine.enrichment().stock("pZ"), std::nullopt);  // not in the catalog
  ASSERT_EQ(out.windows.size(), 1u);
  EXPECT_NE(out.windows[0].find(
                R"("categories":[{"category":"unknown","revenue":12.00},{"category":"home, garden","revenue":4.00},{"category":"toys","revenue":3.00}])"),
            std::string::npos)
      << out.windows[0];
  std::remove(path.c_str());
}

TEST(Catalog, BadRowsAreOneLineErrors) {
  const std::string path = ::testing::TempDir() + "/catalog_bad.csv";
  write_file(path, "product_id,category,stock\npA,toys,ten\n");
  const std::string bad_stock = catalog_error(path);
  EXPECT_NE(bad_stock.find(":2: bad stock 'ten'"), std::string::npos) << "bad stock: '" << bad_stock << "'";
  EXPECT_THROW(Catalog::load_csv(path + ".missing"), std::runtime_error);
  std::remove(path.c_str());
  // A directory, and stock beyond 10^15, are one-line errors naming the catalog.
  const std::string directory = catalog_error(::testing::TempDir());
  EXPECT_EQ(directory.rfind("catalog " + ::testing::TempDir(), 0), 0u) << "a directory: '" << directory << "'";
  write_file(path, "product_id,stock\npA,9223372036854775807\n");
  EXPECT_THROW(Catalog::load_csv(path), std::runtime_error);
  // A product id of blanks only is empty, as a record's would be missing.
  write_file(path, "product_id,category\npA,toys\n \t,books\n");
  const std::string blank_id = catalog_error(path);
  EXPECT_NE(blank_id.find(":3: empty product_id"), std::string::npos) << "a blank product id: '" << blank_id << "'";
  std::remove(path.c_str());
}

// Stock is tracked only where the catalog gives it: no stock column, or an empty cell, leaves the
// product untracked (no stock, no alerts), not at zero. Header names may carry blanks.
TEST(Catalog, StockOnlyWhereGiven) {
  const std::string path = ::testing::TempDir() + "/catalog_stock.csv";
  write_file(path, "product_id, category ,\tstock, reorder_level\npA,toys,10,2\npB,books,,1\npC,garden, 7 ,\n");
  const Catalog c = Catalog::load_csv(path);
  ASSERT_NE(c.find("pA"), nullptr);
  EXPECT_TRUE(c.find("pA")->tracked);
  EXPECT_EQ(c.find("pA")->stock, 10);
  EXPECT_EQ(c.find("pA")->category, "toys");
  EXPECT_FALSE(c.find("pB")->tracked);
  EXPECT_TRUE(c.find("pC")->tracked);
  EXPECT_EQ(c.find("pC")->stock, 7);
  EXPECT_EQ(c.find("pC")->reorder_level, 0);
  write_file(path, "product_id,category\npA,toys\n");
  auto catalog = std::make_shared<const Catalog>(Catalog::load_csv(path));
  EXPECT_FALSE(catalog->find("pA")->tracked);
  const test::Collected out =
      test::run_lines({test::order_line("o1", 1, "c", "pA", "1", "2024-01-01T10:00:00Z", 3)}, Config::defaults(), 1, catalog);
  EXPECT_TRUE(out.alerts.empty());  // untracked: no low_inventory, however much sells
  ASSERT_EQ(out.windows.size(), 11u);  // 1m, and the ten 10m windows sliding over the record
  EXPECT_NE(out.windows[0].find(R"("category":"toys")"), std::string::npos) << out.windows[0];
  std::remove(path.c_str());
}

}  // namespace
}  // namespace orderpulse
