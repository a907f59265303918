// FollowSource against real files in a temp directory, with its real thread. Every wait is a poll
// against a deadline; the only fixed pauses are the short "nothing more arrives" checks.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "orderpulse/engine/batch_builder.h"
#include "orderpulse/event/parser.h"
#include "orderpulse/ingest/follow_source.h"
#include "orderpulse/ingest/record_reader.h"
#include "test_support.h"

namespace orderpulse {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using test::TempDir;

void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

void append_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::app) << content;
}

struct Identity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
};

Identity identity(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

struct Got {
  std::uint32_t source_id;
  std::string text;
  std::uint64_t line;
  RecordFlag flag;
  const RecordOrigin* origin;
  const CsvSchema* csv;
};

struct TakenBatch {
  std::size_t records = 0;
  std::size_t first = 0;  // index of its first record in Drain::records
  std::vector<SourcePosition> positions;
};

// Takes batches from the builder the way the server's parse stage does, remembering what came.
class Drain {
 public:
  explicit Drain(BatchBuilder& builder) : builder_(builder) {}

  void take_one(std::chrono::milliseconds wait = 10ms) {
    auto batch = builder_.take(Clock::now() + wait, std::make_unique<EventBatch>());
    max_seen = std::max(max_seen, batch->size());
    TakenBatch tb{batch->size(), records.size(), batch->positions()};
    for (std::size_t i = 0; i < batch->size(); ++i) {
      const RawRecord& r = batch->record(i);
      records.push_back({r.origin->source_id, std::string(batch->text(r)), r.position, r.flag, r.origin, r.format.csv});
    }
    for (const SourcePosition& p : batch->positions()) latest[p.source_id] = p;
    batches.push_back(std::move(tb));
  }

  template <typename Pred>
  bool until(Pred pred, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (!pred()) {
      if (Clock::now() > deadline) return false;
      take_one();
    }
    return true;
  }

  bool until_records(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    return until([&] { return records.size() >= n; }, timeout);
  }

  // Takes batches for a while; true when no record arrived meanwhile.
  bool quiet_for(std::chrono::milliseconds d) {
    const std::size_t before = records.size();
    const auto end = Clock::now() + d;
    while (Clock::now() < end) take_one();
    return records.size() == before;
  }

  std::vector<std::string> texts(std::uint32_t source_id) const {
    std::vector<std::string> out;
    for (const Got& g : records)
      if (g.source_id == source_id) out.push_back(g.text);
    return out;
  }
  std::vector<std::uint64_t> lines(std::uint32_t source_id) const {
    std::vector<std::uint64_t> out;
    for (const Got& g : records)
      if (g.source_id == source_id) out.push_back(g.line);
    return out;
  }

  std::vector<Got> records;
  std::vector<TakenBatch> batches;
  std::map<std::uint32_t, SourcePosition> latest;
  std::size_t max_seen = 0;

 private:
  BatchBuilder& builder_;
};

FollowOptions fast(bool stop_at_eof = false) {
  FollowOptions o;
  o.poll_interval = 5ms;
  o.stop_at_eof = stop_at_eof;
  return o;
}

constexpr std::size_t kMaxRecord = 1 << 20;

// ---------------------------------------------------------------------------------------------

TEST(RecordReaderFollow, PartialRecordWaitsForItsEnd) {
  TempDir dir;
  const std::string path = dir.file("r.ndjson");
  write_file(path, "\xEF\xBB");  // even the BOM arrives in pieces
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  RecordReader reader(fd, Framing::lines, 100);
  reader.set_follow(true);
  FramedRecord r;
  EXPECT_FALSE(reader.next(r));
  append_file(path, "\xBF" "a\nb");
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.text, "a");
  EXPECT_EQ(r.offset, 3u);
  EXPECT_FALSE(reader.next(r));  // "b" is not finished
  EXPECT_FALSE(reader.next(r));  // and no end of stream was latched
  EXPECT_EQ(reader.bytes_consumed(), 5u);
  append_file(path, "c\r\n");
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.text, "bc");
  EXPECT_EQ(r.line, 2u);
  EXPECT_FALSE(r.unterminated);
  EXPECT_EQ(reader.bytes_consumed(), 9u);
  EXPECT_EQ(reader.next_line(), 3u);
  // Leaving follow mode makes the end final: an unterminated tail is the last record.
  append_file(path, "d");
  EXPECT_FALSE(reader.next(r));
  reader.set_follow(false);
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.text, "d");
  EXPECT_TRUE(r.unterminated);
  EXPECT_FALSE(reader.next(r));
  ::close(fd);
}

TEST(RecordReaderFollow, TooLongRecordIsSkippedAcrossCalls) {
  TempDir dir;
  const std::string path = dir.file("r.ndjson");
  write_file(path, std::string(400, 'x'));
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  RecordReader reader(fd, Framing::lines, 300);
  reader.set_follow(true);
  FramedRecord r;
  EXPECT_FALSE(reader.next(r));
  EXPECT_EQ(reader.bytes_consumed(), 0u);
  append_file(path, std::string(200, 'y'));
  EXPECT_FALSE(reader.next(r));
  append_file(path, "\nok\n");
  ASSERT_TRUE(reader.next(r));
  EXPECT_TRUE(r.too_long);
  EXPECT_FALSE(r.unterminated);
  EXPECT_EQ(r.text, std::string(RecordReader::kLedgerPrefix, 'x'));
  EXPECT_EQ(r.line, 1u);
  EXPECT_EQ(r.end_offset, 601u);
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.text, "ok");
  EXPECT_EQ(r.line, 2u);
  EXPECT_EQ(reader.bytes_consumed(), 604u);
  ::close(fd);
}

TEST(BatchBuilderWaitForSpace, WakesOnTakeAndClose) {
  static RecordOrigin origin{0, "file", "file", "test"};
  BatchBuilder builder(2);
  EXPECT_EQ(builder.max_records(), 2u);
  EXPECT_TRUE(builder.wait_for_space(Clock::now()));  // room already
  EXPECT_FALSE(builder.append([](EventBatch& b) {
    b.add("a", 1, &origin, {});
    b.add("b", 2, &origin, {});
  }));
  const auto t0 = Clock::now();
  EXPECT_FALSE(builder.wait_for_space(t0 + 30ms));
  EXPECT_GE(Clock::now() - t0, 25ms);
  std::thread engine([&] {
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(builder.take(Clock::now() + 1s, std::make_unique<EventBatch>())->size(), 2u);
  });
  const auto t1 = Clock::now();
  EXPECT_TRUE(builder.wait_for_space(t1 + 10s));
  EXPECT_LT(Clock::now() - t1, 5s);
  engine.join();
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    builder.close();
  });
  builder.append([](EventBatch& b) {
    b.add("a", 1, &origin, {});
    b.add("b", 2, &origin, {});
  });
  const auto t2 = Clock::now();
  EXPECT_FALSE(builder.wait_for_space(t2 + 10s));
  EXPECT_LT(Clock::now() - t2, 5s);
  closer.join();
}

TEST(FollowSource, PartialLineWaitsAndPositionsAreByteOffsets) {
  TempDir dir;
  const std::string path = dir.file("orders.ndjson");
  write_file(path, "r1\n\nr22\n");  // 3 + 1 + 4 bytes
  BatchBuilder builder(1000);
  FollowProbe probe({path});
  FollowSource source({path}, std::nullopt, kMaxRecord, 7, builder, probe, fast());
  source.start();
  Drain drain(builder);
  ASSERT_TRUE(drain.until_records(2));
  const Identity id = identity(path);
  ASSERT_TRUE(drain.until([&] { return drain.latest.count(7) && drain.latest[7].offset == 8; }));
  EXPECT_EQ(drain.latest[7], (SourcePosition{7, 8, 4, id.device, id.inode}));

  append_file(path, "r3");  // no newline yet
  EXPECT_TRUE(drain.quiet_for(100ms));
  EXPECT_EQ(drain.latest[7].offset, 8u);  // buffered bytes are not a position
  append_file(path, "33\nr4");
  ASSERT_TRUE(drain.until_records(3));
  EXPECT_EQ(drain.records[2].text, "r333");
  EXPECT_EQ(drain.records[2].line, 4u);
  ASSERT_TRUE(drain.until([&] { return drain.latest[7].offset == 13; }));
  EXPECT_EQ(drain.latest[7].line, 5u);
  EXPECT_TRUE(drain.quiet_for(50ms));  // "r4" stays pending
  source.stop();

  EXPECT_EQ(drain.texts(7), (std::vector<std::string>{"r1", "r22", "r333"}));
  EXPECT_EQ(drain.lines(7), (std::vector<std::uint64_t>{1, 3, 4}));
  // Every batch holding records carries the position just past its last record; the blank line
  // after r1 belongs to whichever chunk consumed it.
  const std::vector<std::vector<std::uint64_t>> allowed{{3, 4}, {8}, {13}};
  for (const TakenBatch& b : drain.batches) {
    if (b.records == 0) continue;
    ASSERT_EQ(b.positions.size(), 1u);
    const auto& ok = allowed[b.first + b.records - 1];
    EXPECT_NE(std::find(ok.begin(), ok.end(), b.positions[0].offset), ok.end()) << b.positions[0].offset;
  }
  EXPECT_EQ(probe.records.load(), 3u);
  EXPECT_EQ(probe.blank_lines.load(), 1u);
  EXPECT_EQ(probe.bytes.load(), 13u);
  EXPECT_EQ(probe.offsets[0].load(), 13u);
  EXPECT_EQ(drain.records[0].origin->source, "file");
  EXPECT_EQ(drain.records[0].origin->location_key, "file");
  EXPECT_EQ(drain.records[0].origin->location, path);
  EXPECT_FALSE(source.done());
}

TEST(FollowSource, TwoFilesAreTwoSources) {
  TempDir dir;
  const std::string a = dir.file("a.ndjson");
  const std::string b = dir.file("b.jsonl");
  write_file(a, "a1\na2\n");
  write_file(b, "b1\n");
  BatchBuilder builder(1000);
  FollowProbe probe({a, b});
  FollowSource source({a, b}, std::nullopt, kMaxRecord, 3, builder, probe, fast());
  source.start();
  Drain drain(builder);
  ASSERT_TRUE(drain.until_records(3));
  append_file(b, "b2\n");
  ASSERT_TRUE(drain.until_records(4));
  ASSERT_TRUE(drain.until([&] { return drain.latest.count(3) && drain.latest.count(4) && drain.latest[4].offset == 6; }));
  source.stop();
  EXPECT_EQ(drain.texts(3), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(drain.texts(4), (std::vector<std::string>{"b1", "b2"}));
  for (const Got& g : drain.records) EXPECT_EQ(g.origin->location, g.source_id == 3 ? a : b);
  const Identity ia = identity(a);
  const Identity ib = identity(b);
  EXPECT_EQ(drain.latest[3], (SourcePosition{3, 6, 3, ia.device, ia.inode}));
  EXPECT_EQ(drain.latest[4], (SourcePosition{4, 6, 3, ib.device, ib.inode}));
  EXPECT_EQ(probe.offsets[0].load(), 6u);
  EXPECT_EQ(probe.offsets[1].load(), 6u);
}

TEST(FollowSource, RotationByRenameFinishesTheOldFileFirst) {
  TempDir dir;
  const std::string path = dir.file("orders.ndjson");
  write_file(path, "r1\nr2\n");
  BatchBuilder builder(1000);
  FollowProbe probe({path});
  FollowSource source({path}, std::nullopt, kMaxRecord, 0, builder, probe, fast());
  source.start();
  Drain drain(builder);
  ASSERT_TRUE(drain.until_records(2));
  append_file(path, "r3\nta");
  ASSERT_TRUE(drain.until_records(3));
  // mv orders.ndjson orders.ndjson.1; the writer still finishes what it had, then a new file.
  std::filesystem::rename(path, path + ".1");
  append_file(path + ".1", "il\nr4\nend");
  ASSERT_TRUE(drain.until_records(5));
  EXPECT_TRUE(drain.quiet_for(50ms));  // "end" may still grow while the path is missing
  write_file(path, "n1\nn2\n");
  ASSERT_TRUE(drain.until_records(8));
  const Identity fresh = identity(path);
  ASSERT_TRUE(drain.until([&] { return drain.latest[0].inode == fresh.inode && drain.latest[0].offset == 6; }));
  source.stop();
  EXPECT_EQ(drain.texts(0), (std::vector<std::string>{"r1", "r2", "r3", "tail", "r4", "end", "n1", "n2"}));
  EXPECT_EQ(drain.lines(0), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 1, 2}));
  EXPECT_EQ(drain.latest[0], (SourcePosition{0, 6, 3, fresh.device, fresh.inode}));
  EXPECT_EQ(probe.rotations.load(), 1u);
  EXPECT_EQ(probe.truncations.load(), 0u);
}

TEST(FollowSource, MissingFileIsAwaitedAndARemovedOneReplaced) {
  TempDir dir;
  const std::string path = dir.file("later.ndjson");
  BatchBuilder builder(1000);
  FollowProbe probe({path});
  FollowSource source({path}, std::nullopt, kMaxRecord, 0, builder, probe, fast());
  source.start();
  Drain drain(builder);
  EXPECT_TRUE(drain.quiet_for(50ms));
  write_file(path, "x1\n");
  ASSERT_TRUE(drain.until_records(1));
  std::filesystem::remove(path);
  EXPECT_TRUE(drain.quiet_for(50ms));
  write_file(path, "y1\ny2\n");
  ASSERT_TRUE(drain.until_records(3));
  source.stop();
  EXPECT_EQ(drain.texts(0), (std::vector<std::string>{"x1", "y1", "y2"}));
  EXPECT_EQ(probe.rotations.load(), 1u);
}

TEST(FollowSource, TruncationRestartsFromTheStart) {
  TempDir dir;
  const std::string path = dir.file("orders.ndjson");
  write_file(path, "r1\nr2\nr3\n");
  const Identity id = identity(path);
  BatchBuilder builder(1000);
  FollowProbe probe({path});
  FollowSource source({path}, std::nullopt, kMaxRecord, 0, builder, probe, fast());
  source.start();
  Drain drain(builder);
  ASSERT_TRUE(drain.until_records(3));
  write_file(path, "x\n");  // `: > f` then a write: same inode, shorter
  ASSERT_TRUE(drain.until_records(4));
  ASSERT_TRUE(drain.until([&] { return drain.latest[0].offset == 2; }));
  source.stop();
  EXPECT_EQ(drain.texts(0), (std::vector<std::string>{"r1", "r2", "r3", "x"}));
  EXPECT_EQ(drain.records[3].line, 1u);
  EXPECT_EQ(drain.latest[0], (SourcePosition{0, 2, 2, id.device, id.inode}));
  EXPECT_EQ(probe.truncations.load(), 1u);
  EXPECT_EQ(probe.rotations.load(), 0u);
}

TEST(FollowSource, SeekResumesTheSameFileAtItsPosition) {
  TempDir dir;
  const std::string path = dir.file("orders.ndjson");
  const std::string caught_up = dir.file("caught-up.ndjson");
  const std::string fresh = dir.file("fresh.ndjson");
  const std::string absent = dir.file("absent.ndjson");
  write_file(path, "r1\nr2\n\nr4\nr5\n");
  write_file(caught_up, "z1\n");
  write_file(fresh, "f1\n");
  const Identity id = identity(path);
  const Identity iz = identity(caught_up);
  const Identity ifr = identity(fresh);
  BatchBuilder builder(1000);
  FollowProbe probe({path, caught_up, fresh, absent});
  FollowSource source({path, caught_up, fresh, absent}, std::nullopt, kMaxRecord, 2, builder, probe, fast());
  const SourcePosition at{2, 6, 3, id.device, id.inode};  // after r2
  const SourcePosition at_end{3, 3, 2, iz.device, iz.inode};
  source.seek({at, at_end, SourcePosition{9, 1, 1, 0, 0}});  // another source's position is ignored
  EXPECT_EQ(source.initial_positions(),
            (std::vector<SourcePosition>{at, at_end, {4, 0, 1, ifr.device, ifr.inode}, {5, 0, 1, 0, 0}}));
  source.start();
  Drain drain(builder);
  ASSERT_TRUE(drain.until_records(3));
  ASSERT_TRUE(drain.until([&] { return drain.latest[2].offset == 13; }));
  // A file with nothing new still reports where it stands, so a checkpoint keeps its position.
  ASSERT_TRUE(drain.until([&] { return drain.latest.count(3) > 0; }));
  EXPECT_TRUE(drain.quiet_for(50ms));
  source.stop();
  EXPECT_EQ(drain.texts(2), (std::vector<std::string>{"r4", "r5"}));
  EXPECT_EQ(drain.lines(2), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_EQ(drain.latest[2], (SourcePosition{2, 13, 6, id.device, id.inode}));
  EXPECT_TRUE(drain.texts(3).empty());
  EXPECT_EQ(drain.latest[3], at_end);
  EXPECT_EQ(drain.texts(4), (std::vector<std::string>{"f1"}));
  EXPECT_EQ(drain.latest.count(5), 0u);
  EXPECT_EQ(probe.blank_lines.load(), 1u);
}

TEST(FollowSource, SeekRestartsARotatedOrTruncatedFile) {
  TempDir dir;
  const std::string rotated = dir.file("rotated.ndjson");
  const std::string truncated = dir.file("truncated.ndjson");
  write_file(rotated, "a1\na2\n");
  write_file(truncated, "b1\n");
  const Identity ir = identity(rotated);
  const Identity it = identity(truncated);
  BatchBuilder builder(1000);
  FollowProbe probe({rotated, truncated});
  FollowSource source({rotated, truncated}, std::nullopt, kMaxRecord, 0, builder, probe, fast());
  source.seek({SourcePosition{0, 3, 2, ir.device, ir.inode + 1},  // another inode at the path now
               SourcePosition{1, 30, 11, it.device, it.inode}});  // the file is shorter than that
  const auto initial = source.initial_positions();
  ASSERT_EQ(initial.size(), 2u);
  EXPECT_EQ(initial[0], (SourcePosition{0, 0, 1, ir.device, ir.inode}));
  EXPECT_EQ(initial[1], (SourcePosition{1, 0, 1, it.device, it.inode}));
  source.start();
  Drain drain(builder);
  ASSERT_TRUE(drain.until_records(3));
  source.stop();
  EXPECT_EQ(drain.texts(0), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(drain.lines(0), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(drain.texts(1), (std::vector<std::string>{"b1"}));
}

TEST(FollowSource, CsvResumeReadsTheHeaderFirst) {
  TempDir dir;
  const std::string path = dir.file("orders.csv");
  const std::string header = "\xEF\xBB\xBF" "event_time,order_id,customer_id,product_id,unit_price\r\n";
  const std::string row1 = "2024-01-01T00:00:00Z,o1,c1,p1,1.00\r\n";
  write_file(path, header + row1 + "2024-01-01T00:00:01Z,o2,c2,p2,\"2.50\"\r\n,,,,\r\n2024-01-01T00:00:02Z,o3,c3,p3,3\r\n");
  const Identity id = identity(path);
  BatchBuilder builder(1000);
  FollowProbe probe({path});
  FollowSource source({path}, std::nullopt, kMaxRecord, 0, builder, probe, fast());
  source.seek({SourcePosition{0, header.size() + row1.size(), 3, id.device, id.inode}});
  source.start();
  Drain drain(builder);
  ASSERT_TRUE(drain.until_records(2));
  EXPECT_TRUE(drain.quiet_for(50ms));
  source.stop();
  ASSERT_EQ(drain.records.size(), 2u);
  EXPECT_EQ(drain.lines(0), (std::vector<std::uint64_t>{3, 5}));
  EXPECT_EQ(probe.blank_lines.load(), 1u);  // the row of empty cells
  // The rows parse against the header's column order.
  EventBatch batch;
  for (const Got& g : drain.records) {
    ASSERT_NE(g.csv, nullptr);
    batch.add(g.text, g.line, g.origin, RecordFormat{g.csv});
  }
  batch.seal();
  RecordParser parser;
  parser.parse(batch);
  ASSERT_EQ(batch.events().size(), 2u);
  EXPECT_EQ(batch.events()[0].reason, DropReason::none);
  EXPECT_EQ(batch.events()[0].order_id, "o2");
  EXPECT_EQ(batch.events()[0].unit_price, 250);
  EXPECT_EQ(batch.events()[1].order_id, "o3");
}

TEST(FollowSource, CsvFromTheStartAndAfterTruncation) {
  TempDir dir;
  const std::string path = dir.file("orders.csv");
  write_file(path, "\norder_id,customer_id,product_id,unit_price,event_time,note\no1,c1,p1,1,2024-01-01T00:00:00Z,first\n");
  BatchBuilder builder(1000);
  FollowProbe probe({path});
  FollowSource source({path}, std::nullopt, kMaxRecord, 0, builder, probe, fast());
  source.start();
  Drain drain(builder);
  ASSERT_TRUE(drain.until_records(1));
  // Rewritten, shorter, with another column order: the new header applies to the new rows.
  write_file(path, "event_time,order_id,customer_id,product_id,unit_price\n2024-01-01T00:00:00Z,o2,c2,p2,2\n");
  ASSERT_TRUE(drain.until_records(2));
  source.stop();
  EXPECT_EQ(drain.texts(0), (std::vector<std::string>{"o1,c1,p1,1,2024-01-01T00:00:00Z,first", "2024-01-01T00:00:00Z,o2,c2,p2,2"}));
  EXPECT_EQ(drain.lines(0), (std::vector<std::uint64_t>{3, 2}));
  ASSERT_NE(drain.records[0].csv, drain.records[1].csv);
  EXPECT_EQ(drain.records[0].csv->index[static_cast<std::size_t>(Field::order_id)], 0);
  EXPECT_EQ(drain.records[1].csv->index[static_cast<std::size_t>(Field::order_id)], 1);
  EXPECT_EQ(probe.truncations.load(), 1u);
}

TEST(FollowSource, StopAtEofEmitsTheUnterminatedTailThenIsDone) {
  TempDir dir;
  const std::string path = dir.file("orders.ndjson");
  const std::string missing = dir.file("missing.ndjson");
  write_file(path, "a\nb\n \nc");
  BatchBuilder builder(1000);
  FollowProbe probe({path, missing});
  std::atomic<int> done_calls{0};
  FollowOptions options = fast(/*stop_at_eof=*/true);
  options.on_done = [&] { ++done_calls; };
  FollowSource source({path, missing}, std::nullopt, kMaxRecord, 0, builder, probe, options);
  source.start();
  const auto deadline = Clock::now() + 10s;
  while (!source.done() && Clock::now() < deadline) std::this_thread::sleep_for(2ms);
  ASSERT_TRUE(source.done());
  EXPECT_EQ(done_calls.load(), 1);
  // Everything is in the builder by the time done() is true.
  Drain drain(builder);
  drain.take_one(0ms);
  EXPECT_EQ(drain.texts(0), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(drain.lines(0), (std::vector<std::uint64_t>{1, 2, 4}));
  const Identity id = identity(path);
  EXPECT_EQ(drain.latest[0], (SourcePosition{0, 7, 4, id.device, id.inode}));
  EXPECT_EQ(probe.blank_lines.load(), 1u);
  source.stop();
}

TEST(FollowSource, BackpressureNeverOverfillsTheBatch) {
  TempDir dir;
  const std::string path = dir.file("orders.ndjson");
  std::string content;
  std::vector<std::uint64_t> ends;  // byte offset after each record
  for (int i = 0; i < 50; ++i) {
    content += "rec" + std::to_string(i) + "\n";
    ends.push_back(content.size());
  }
  write_file(path, content);
  BatchBuilder builder(3);
  FollowProbe probe({path});
  FollowSource source({path}, std::nullopt, kMaxRecord, 0, builder, probe, fast());
  source.start();
  // Nobody takes: the source fills the batch and waits, it does not pile records on.
  const auto deadline = Clock::now() + 10s;
  while (builder.pending() < 3 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(builder.pending(), 3u);
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_LE(probe.offsets[0].load(), ends[2]);
  Drain drain(builder);
  ASSERT_TRUE(drain.until_records(50));
  // A stop while blocked on a full batch is prompt too.
  append_file(path, content);
  while (builder.pending() < 3 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  const auto t0 = Clock::now();
  source.stop();
  EXPECT_LT(Clock::now() - t0, 200ms);
  EXPECT_LE(drain.max_seen, 3u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(drain.records[static_cast<std::size_t>(i)].text, "rec" + std::to_string(i));
  for (const TakenBatch& b : drain.batches) {
    if (b.records == 0 || b.first + b.records > 50) continue;
    ASSERT_EQ(b.positions.size(), 1u);
    EXPECT_EQ(b.positions[0].offset, ends[b.first + b.records - 1]);
    EXPECT_EQ(b.positions[0].line, b.first + b.records + 1);
  }
}

TEST(FollowSource, BlankLinesAreCountedNotEmitted) {
  TempDir dir;
  const std::string path = dir.file("orders.ndjson");
  write_file(path, "\n  \n\t\r\nr1\n\r\nr2\n\n");
  BatchBuilder builder(1000);
  FollowProbe probe({path});
  FollowSource source({path}, std::nullopt, kMaxRecord, 0, builder, probe, fast());
  source.start();
  Drain drain(builder);
  ASSERT_TRUE(drain.until_records(2));
  ASSERT_TRUE(drain.until([&] { return drain.latest[0].offset == 16; }));
  source.stop();
  EXPECT_EQ(drain.texts(0), (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(drain.lines(0), (std::vector<std::uint64_t>{4, 6}));
  EXPECT_EQ(probe.blank_lines.load(), 5u);
  EXPECT_EQ(drain.latest[0].line, 8u);
}

TEST(FollowSource, TooLongRecordWhileFollowing) {
  TempDir dir;
  const std::string path = dir.file("orders.ndjson");
  write_file(path, std::string(400, 'x'));
  BatchBuilder builder(1000);
  FollowProbe probe({path});
  FollowSource source({path}, std::nullopt, 300, 0, builder, probe, fast());
  source.start();
  Drain drain(builder);
  EXPECT_TRUE(drain.quiet_for(50ms));
  append_file(path, std::string(400, 'x') + "\nok\n");
  ASSERT_TRUE(drain.until_records(2));
  source.stop();
  EXPECT_EQ(drain.records[0].flag, RecordFlag::too_long);
  EXPECT_EQ(drain.records[0].text.size(), RecordReader::kLedgerPrefix);
  EXPECT_EQ(drain.records[0].line, 1u);
  EXPECT_EQ(drain.records[1].text, "ok");
  EXPECT_EQ(drain.records[1].flag, RecordFlag::none);
}

TEST(FollowSource, StopIsPromptWhileIdle) {
  TempDir dir;
  const std::string path = dir.file("orders.ndjson");
  write_file(path, "r1\n");
  BatchBuilder builder(1000);
  FollowProbe probe({path});
  FollowOptions options;
  options.poll_interval = 5s;  // a stop must not wait for the next poll
  FollowSource source({path}, std::nullopt, kMaxRecord, 0, builder, probe, options);
  source.start();
  Drain drain(builder);
  ASSERT_TRUE(drain.until_records(1));
  const auto t0 = Clock::now();
  source.stop();
  EXPECT_LT(Clock::now() - t0, 200ms);
  source.stop();  // twice is fine
}

TEST(FollowSource, ProbeMustMatchThePaths) {
  BatchBuilder builder(10);
  FollowProbe probe({"a.ndjson"});
  EXPECT_THROW(FollowSource({"a.ndjson", "b.ndjson"}, std::nullopt, kMaxRecord, 0, builder, probe), std::invalid_argument);
  FollowProbe stdin_probe({"-"});
  EXPECT_THROW(FollowSource({"-"}, std::nullopt, kMaxRecord, 0, builder, stdin_probe), std::invalid_argument);
}

}  // namespace
}  // namespace orderpulse
