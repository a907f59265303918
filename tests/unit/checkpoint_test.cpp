// Checkpoint state: a restored engine continues exactly as the original would have; snapshots are
// unaffected by what the engine does after them (copy-on-write); the store rejects damaged files;
// the codec never reads past its input.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "orderpulse/checkpoint/checkpoint.h"
#include "orderpulse/checkpoint/checkpoint_store.h"
#include "orderpulse/checkpoint/recovery.h"
#include "test_support.h"

namespace orderpulse {
namespace {

using test::checkpoint_bytes;
using test::Collected;
using test::order_line;
using test::restore;
using test::run_lines;
using test::test_origin;

// Records with duplicates, disorder, late ones, several products, categories and customers (more
// than the sketch's exact limit), spread over 25 minutes.
std::vector<std::string> mixed_lines(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    const int second = static_cast<int>(i * 1500 / n) - static_cast<int>(rng() % 40);
    const int minute = std::max(0, second) / 60, sec = std::max(0, second) % 60;
    char time[32];
    std::snprintf(time, sizeof time, "2024-05-01T08:%02d:%02dZ", minute, sec);
    const std::size_t order = rng() % 10 == 0 && i > 0 ? i - 1 : i;  // ~10% duplicates
    out.push_back(order_line("o" + std::to_string(order), 1, "c" + std::to_string(rng() % 700),
                             "p" + std::to_string(rng() % 50), std::to_string(1 + rng() % 90) + ".25", time,
                             1 + static_cast<int>(rng() % 3)));
  }
  out.push_back("{not json");
  return out;
}

void feed(Engine& engine, const std::vector<std::string>& lines, std::size_t from, std::size_t to, std::size_t batch_size) {
  EventBatch batch;
  for (std::size_t i = from; i < to;) {
    batch.clear();
    for (std::size_t k = 0; k < batch_size && i < to; ++k, ++i) batch.add(lines[i], i + 1, &test_origin(), {});
    batch.seal();
    engine.process(batch);
  }
}

// Feeds lines[0, cut) to an engine, checkpoints it, restores a fresh engine from that and feeds it
// the rest (batch_after records at a time): its windows must be `expected` (the whole run's).
// Returns the restored engine's running revenue.
CentsSum expect_same_windows_after_restore(const Config& config, const std::vector<std::string>& lines, std::size_t cut,
                                           std::size_t batch_after, const Collected& expected) {
  Engine original(config, nullptr);
  feed(original, lines, 0, cut, 65536);
  const std::string bytes = checkpoint_bytes(original);
  Engine restored(config, nullptr);
  restore(restored, bytes);
  Collected after;
  restored.add_sink(after);
  feed(restored, lines, cut, lines.size(), batch_after);
  restored.finish();
  EXPECT_EQ(after.windows, expected.windows) << "cut at " << cut;
  return restored.windows().totals().revenue;
}

TEST(Checkpoint, RestoredEngineContinuesExactlyAsTheOriginal) {
  const Config config = Config::defaults();
  const auto lines = mixed_lines(6000, 7);
  for (std::size_t cut : {std::size_t{1}, std::size_t{2500}, std::size_t{4999}}) {
    Engine original(config, nullptr);
    Collected before, after_original;
    original.add_sink(before);
    feed(original, lines, 0, cut, 333);
    const std::string bytes = checkpoint_bytes(original);
    original.add_sink(after_original);
    feed(original, lines, cut, lines.size(), 333);
    original.finish();

    Engine restored(config, nullptr);
    restore(restored, bytes);
    Collected after_restored;
    restored.add_sink(after_restored);
    feed(restored, lines, cut, lines.size(), 1000);  // other batch boundaries: same results
    restored.finish();

    EXPECT_EQ(after_restored.windows, after_original.windows) << "cut at " << cut;
    EXPECT_EQ(after_restored.drops, after_original.drops) << "cut at " << cut;
    EXPECT_EQ(after_restored.alerts, after_original.alerts) << "cut at " << cut;
    const EngineStats& a = original.stats();
    const EngineStats& b = restored.stats();
    EXPECT_EQ(a.read, b.read);
    EXPECT_EQ(a.accepted, b.accepted);
    EXPECT_EQ(a.duplicate, b.duplicate);
    EXPECT_EQ(a.late, b.late);
    EXPECT_EQ(a.by_reason, b.by_reason);
    EXPECT_EQ(a.windows_emitted, b.windows_emitted);
    EXPECT_EQ(original.windows().totals().revenue, restored.windows().totals().revenue);
  }
}

// A pane packs a product's items into 32 bits; past 2^32 - 1 the product's sums move to the pane's
// side map. The windows must carry them exactly, whether the checkpoint is cut before or after.
TEST(Checkpoint, AProductBeyondFourBillionItemsStaysExactAcrossARestore) {
  const Config config = Config::parse_json(R"({"windows":[{"size":"1m"}]})", "t");
  constexpr std::size_t kLines = 429'500;  // 10,000 items each: 4,295,000,000 > 2^32 - 1
  std::vector<std::string> lines;
  lines.reserve(kLines + 1);
  for (std::size_t i = 0; i < kLines; ++i) {
    char time[32];
    std::snprintf(time, sizeof time, "2024-05-01T08:00:%02zuZ", i * 60 / kLines);
    lines.push_back(order_line("o" + std::to_string(i), 1, "c" + std::to_string(i % 100), "p", "1", time, 10'000));
  }
  lines.push_back(order_line("q", 1, "c", "q", "2", "2024-05-01T08:00:59Z"));
  const std::string want = R"("lines":429501,"items":4295000001,"orders":429501,"revenue":4295000002.00,)";
  const std::string want_top = R"("top_products":[{"product_id":"p","revenue":4295000000.00,"items":4295000000},{"product_id":"q","revenue":2.00,"items":1}])";
  const Collected expected = run_lines(lines, config, 65536);
  ASSERT_EQ(expected.windows.size(), 1u);
  EXPECT_NE(expected.windows[0].find(want), std::string::npos) << expected.windows[0];
  EXPECT_NE(expected.windows[0].find(want_top), std::string::npos) << expected.windows[0];
  // The spill happens at line 429,497: cut well before it, and just after.
  for (std::size_t cut : {std::size_t{1000}, std::size_t{429'498}}) expect_same_windows_after_restore(config, lines, cut, 1000, expected);
}

// One record is at most 10^16 cents (quantity 10,000 at ten billion); 923 of them pass 2^63. Window,
// product, category and customer sums take 128 bits: exact, and across a restore cut before or
// after the point where they leave 64 bits (line 923).
TEST(Checkpoint, RevenueBeyondSixtyFourBitsStaysExactAcrossARestore) {
  const Config config = Config::parse_json(R"({"windows":[{"size":"1m"}]})", "t");
  constexpr std::size_t kLines = 1000;
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < kLines; ++i)
    lines.push_back(order_line("o" + std::to_string(i), 1, "whale", "p", "10000000000.00", "2024-05-01T08:00:00Z", 10'000));
  // 10^19 cents: past 2^63 (9.22 x 10^18).
  const std::string want = R"("revenue":100000000000000000.00,)";
  const std::string want_top = R"("top_products":[{"product_id":"p","revenue":100000000000000000.00,"items":10000000}])";
  const Collected expected = run_lines(lines, config, 65536);
  ASSERT_EQ(expected.windows.size(), 1u);
  EXPECT_NE(expected.windows[0].find(want), std::string::npos) << expected.windows[0];
  EXPECT_NE(expected.windows[0].find(want_top), std::string::npos) << expected.windows[0];
  EXPECT_NE(expected.windows[0].find(R"("revenue":100000000000000000.00}])"), std::string::npos) << "the category: " << expected.windows[0];
  // The running totals, which no window prints, too.
  for (std::size_t cut : {std::size_t{500}, std::size_t{950}})
    EXPECT_TRUE(expect_same_windows_after_restore(config, lines, cut, 7, expected) == CentsSum{10'000'000'000'000'000} * kLines)
        << "cut at " << cut;
}

TEST(Checkpoint, SnapshotIsNotChangedByLaterBatches) {
  const Config config = Config::defaults();
  const auto lines = mixed_lines(4000, 11);
  Engine engine(config, nullptr);
  feed(engine, lines, 0, 2000, 500);
  EngineSnapshot snap = engine.snapshot();
  Encoder first;
  Engine::encode(snap, first);
  feed(engine, lines, 2000, lines.size(), 500);  // writes into shared panes, chunks and shards
  Encoder again;
  Engine::encode(snap, again);
  EXPECT_EQ(first.buffer(), again.buffer());
  EXPECT_GT(engine.cow_stats().pane_copies, 0u);
}

TEST(Checkpoint, CatalogStockSurvivesRestore) {
  const test::TempDir temp;
  const std::filesystem::path& dir = temp.path();
  std::ofstream(dir / "catalog.csv") << "product_id,category,stock,reorder_level\np1,toys,100,5\np2,books,50,5\n";
  auto catalog = std::make_shared<const Catalog>(Catalog::load_csv((dir / "catalog.csv").string()));
  const Config config = Config::defaults();
  Engine engine(config, catalog);
  feed(engine, {order_line("a", 1, "c", "p1", "1.00", "2024-05-01T08:00:00Z", 7),
                order_line("b", 1, "c", "p2", "1.00", "2024-05-01T08:00:01Z", 3)}, 0, 2, 10);
  const std::string bytes = checkpoint_bytes(engine);
  Engine restored(config, catalog);
  restore(restored, bytes);
  EXPECT_EQ(restored.enrichment().stock("p1"), 93);
  EXPECT_EQ(restored.enrichment().stock("p2"), 47);
}

TEST(Checkpoint, TruncatedStateIsACodecErrorNeverACrash) {
  const Config config = Config::defaults();
  Engine engine(config, nullptr);
  feed(engine, mixed_lines(1500, 3), 0, 1501, 400);
  const std::string bytes = checkpoint_bytes(engine);
  for (std::size_t len : {std::size_t{0}, std::size_t{1}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 1}) {
    Engine restored(config, nullptr);
    Decoder in(std::string_view(bytes).substr(0, len));
    EXPECT_THROW(restored.decode(in), CodecError) << "length " << len;
  }
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_.path() / "store"; }
  std::uint64_t put(CheckpointStore& store, std::uint64_t id, const std::string& body) {
    std::string image(CheckpointStore::kHeaderSize, '\0');
    image += body;
    return store.write(id, image);
  }
  test::TempDir temp_;
  std::filesystem::path dir_;
};

TEST_F(StoreTest, KeepsTheNewestThreeAndReadsThemBack) {
  CheckpointStore store(dir_ / "nested" / "ckpt", 3);
  for (std::uint64_t id : {5, 9, 10, 11, 120}) put(store, id, "body-" + std::to_string(id));
  const auto files = store.list();
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(CheckpointStore::read(files[0]).batch_id, 120u);
  EXPECT_EQ(CheckpointStore::read(files[0]).body(), "body-120");
  EXPECT_EQ(CheckpointStore::read(files[2]).batch_id, 10u);
}

TEST_F(StoreTest, AFailureRepeatsWithTheSameText) {
  // The writer logs a failure again only when its text changes, so the text must not name the
  // per-batch file: otherwise a full disk logs every attempt. A directory where a batch's temporary
  // file would go makes its write fail, for root too.
  CheckpointStore store(dir_, 3);
  auto temp_name = [](std::uint64_t id) {
    const std::string digits = std::to_string(id);
    return ".checkpoint-" + std::string(20 - digits.size(), '0') + digits + ".ckpt.tmp";
  };
  std::vector<std::string> texts;
  for (std::uint64_t id : {7, 8}) {
    std::filesystem::create_directories(dir_ / temp_name(id));
    try {
      put(store, id, "body");
      ADD_FAILURE() << "writing batch " << id << " over a directory succeeded";
    } catch (const CheckpointError& e) {
      texts.push_back(e.what());
    }
  }
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0], texts[1]);
  EXPECT_NE(texts[0].find(dir_.string()), std::string::npos) << texts[0];
}

TEST_F(StoreTest, DamagedFilesAreNamedAndRejected) {
  CheckpointStore store(dir_, 3);
  put(store, 1, std::string(1000, 'x'));
  const auto path = store.list().at(0);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& b) { std::ofstream(path, std::ios::binary | std::ios::trunc) << b; };
  std::string flipped = bytes;
  flipped[600] ^= 1;
  write(flipped);
  try {
    CheckpointStore::read(path);
    FAIL() << "a flipped bit was not noticed";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path.filename().string()), std::string::npos) << e.what();
  }
  write(bytes.substr(0, 500));
  EXPECT_THROW(CheckpointStore::read(path), CheckpointError);
  write(bytes.substr(0, 10));
  EXPECT_THROW(CheckpointStore::read(path), CheckpointError);
  write(bytes);
  EXPECT_EQ(CheckpointStore::read(path).body(), std::string(1000, 'x'));
}

TEST_F(StoreTest, RecoveryFallsBackToAnOlderCheckpointAndRefusesOtherSettings) {
  const Config config = Config::defaults();
  CheckpointStore store(dir_, 3);
  Engine engine(config, nullptr);
  auto checkpoint = [&](std::uint64_t id) {
    Encoder image;
    image.buffer().assign(CheckpointStore::kHeaderSize, '\0');
    CheckpointMeta meta;
    meta.settings = config.result_settings();
    encode_meta(meta, image);
    Engine::encode(engine.snapshot(), image);
    store.write(id, image.buffer());
  };
  const auto lines = mixed_lines(2000, 5);
  feed(engine, lines, 0, 1000, 250);
  checkpoint(1);
  feed(engine, lines, 1000, 2000, 250);
  checkpoint(2);
  std::ofstream(store.list().at(0), std::ios::binary | std::ios::app) << "junk";
  auto make = [&] { return std::make_unique<Engine>(config, nullptr); };
  Recovered r = recover(store, config.result_settings(), make);
  ASSERT_TRUE(r.meta.has_value());
  EXPECT_EQ(r.batch_id, 1u);
  EXPECT_EQ(r.engine->stats().read, 1000u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "checkpoint-00000000000000000002.ckpt.corrupt"));

  Config other = config;
  other.windows = {make_window_spec(300'000, 300'000)};
  try {
    recover(store, other.result_settings(), make);
    FAIL() << "other windows were accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("windows (checkpoint: 1m/1m,10m/1m, now: 5m/5m)"), std::string::npos) << e.what();
  }
}

TEST(Codec, VarintsAndStringsRoundTripAndTruncationThrows) {
  Encoder out;
  const std::vector<std::uint64_t> values{0, 1, 127, 128, 300, 1ull << 35, ~0ull};
  for (auto v : values) out.varint(v);
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{63}, std::int64_t{-64}, INT64_MIN, INT64_MAX}) out.svarint(v);
  out.str("héllo");
  Decoder in(out.buffer());
  for (auto v : values) EXPECT_EQ(in.varint(), v);
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{63}, std::int64_t{-64}, INT64_MIN, INT64_MAX}) EXPECT_EQ(in.svarint(), v);
  EXPECT_EQ(in.str(), "héllo");
  EXPECT_TRUE(in.done());
  EXPECT_THROW(in.u8(), CodecError);
  // Money sums: 128 bits, and one within 64 bits written exactly as svarint writes it (checkpoints
  // from before sums were 128 bits read the same).
  const CentsSum big = CentsSum{INT64_MAX} * 1000 + 7;
  for (CentsSum v : {CentsSum{0}, CentsSum{-1}, CentsSum{INT64_MIN}, CentsSum{INT64_MAX}, big, -big}) {
    Encoder wide;
    wide.svarint128(v);
    if (v >= INT64_MIN && v <= INT64_MAX) {
      Encoder narrow;
      narrow.svarint(static_cast<std::int64_t>(v));
      EXPECT_EQ(wide.buffer(), narrow.buffer());
    }
    Decoder back(wide.buffer());
    EXPECT_TRUE(back.svarint128() == v);
    EXPECT_TRUE(back.done());
  }
  Encoder huge;
  huge.varint(1ull << 40);  // a count no remaining data can hold
  Decoder h(huge.buffer());
  EXPECT_THROW(h.count(1), CodecError);
}

}  // namespace
}  // namespace orderpulse
