#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "orderpulse/ingest/record_reader.h"

namespace orderpulse {
namespace {

struct Got {
  std::string text;
  std::uint64_t line;
  bool too_long;
  bool unterminated;
};

std::vector<Got> frame(const std::string& data, Framing framing, std::size_t max_record) {
  std::FILE* f = std::tmpfile();
  std::fwrite(data.data(), 1, data.size(), f);
  std::fflush(f);
  std::rewind(f);
  RecordReader reader(fileno(f), framing, max_record);
  std::vector<Got> out;
  FramedRecord r;
  while (reader.next(r)) out.push_back({std::string(r.text), r.line, r.too_long, r.unterminated});
  EXPECT_EQ(reader.bytes_consumed(), data.size());
  std::fclose(f);
  return out;
}

TEST(RecordReader, LinesWithCrlfBomAndUnterminatedTail) {
  auto got = frame("\xEF\xBB\xBF" "a\r\nbb\n\nccc", Framing::lines, 100);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].text, "a");
  EXPECT_EQ(got[1].text, "bb");
  EXPECT_EQ(got[2].text, "");
  EXPECT_EQ(got[3].text, "ccc");
  EXPECT_EQ(got[3].line, 4u);
  EXPECT_TRUE(got[3].unterminated);
  EXPECT_FALSE(got[1].unterminated);
}

TEST(RecordReader, CsvQuotedNewlinesKeepLineNumbers) {
  auto got = frame("h1,h2\r\n\"a\nb\",c\r\nd,\"e\"\"\nf\"\nlast,1\n", Framing::csv, 100);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1].text, "\"a\nb\",c");
  EXPECT_EQ(got[1].line, 2u);
  EXPECT_EQ(got[2].line, 4u);
  EXPECT_EQ(got[3].text, "last,1");
  EXPECT_EQ(got[3].line, 6u);
}

TEST(RecordReader, AQuoteOpensAQuotedFieldOnlyAtAFieldsStart) {
  // An inch mark inside a bare field leaves that record malformed (split_csv_record says so) but
  // does not swallow the lines after it; quotes at a field's start, doubled quotes and a quote
  // after a closing one still frame as RFC 4180 says.
  auto got = frame("h1,h2\np1,tv 55\" led\np2,garden\n\"a\"\"\nb\",c\n\"x\"y,z\nlast,1\n", Framing::csv, 100);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[1].text, "p1,tv 55\" led");
  EXPECT_EQ(got[2].text, "p2,garden");
  EXPECT_EQ(got[2].line, 3u);
  EXPECT_EQ(got[3].text, "\"a\"\"\nb\",c");
  EXPECT_EQ(got[4].text, "\"x\"y,z");
  EXPECT_EQ(got[4].line, 6u);
  EXPECT_EQ(got[5].text, "last,1");
}

TEST(RecordReader, TooLongRecordsAreSkippedNotBuffered) {
  const std::string huge(10 << 20, 'x');  // 10 MiB, far above the limit and the read chunk
  auto got = frame("ok1\n" + huge + "\nok2\n" + huge, Framing::lines, 1 << 20);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].text, "ok1");
  EXPECT_TRUE(got[1].too_long);
  EXPECT_EQ(got[1].text.size(), RecordReader::kLedgerPrefix);
  EXPECT_EQ(got[1].line, 2u);
  EXPECT_EQ(got[2].text, "ok2");
  EXPECT_EQ(got[2].line, 3u);
  EXPECT_TRUE(got[3].too_long);
  EXPECT_TRUE(got[3].unterminated);
  // Exactly at the limit is fine; one byte more is too long.
  auto edge = frame(std::string(64, 'a') + "\n" + std::string(65, 'b') + "\n", Framing::lines, 64);
  ASSERT_EQ(edge.size(), 2u);
  EXPECT_FALSE(edge[0].too_long);
  EXPECT_TRUE(edge[1].too_long);
}

TEST(RecordReader, ARecordLongerThanTheFirstBufferIsReturnedWhole) {
  // The buffer starts at two reads' worth and grows only for a record that needs it: records of
  // 0.6 and 0.9 MiB under a 1 MiB limit, after short ones so they straddle reads, come back whole,
  // in both framings, and the records after them too.
  const std::string a(600 << 10, 'a'), b((900 << 10) - 7, 'b');
  auto lines = frame("s1\n" + a + "\ns2\n" + b + "\r\ns3", Framing::lines, 1 << 20);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[1].text, a);
  EXPECT_FALSE(lines[1].too_long);
  EXPECT_EQ(lines[3].text, b);
  EXPECT_FALSE(lines[3].too_long);
  EXPECT_EQ(lines[4].text, "s3");
  EXPECT_EQ(lines[4].line, 5u);
  auto csv = frame("h\n\"" + a + "\n" + b + "\"\nlast\n", Framing::csv, 2 << 20);
  ASSERT_EQ(csv.size(), 3u);
  EXPECT_EQ(csv[1].text, "\"" + a + "\n" + b + "\"");
  EXPECT_EQ(csv[2].text, "last");
  EXPECT_EQ(csv[2].line, 4u);
}

TEST(RecordReader, TheCrOfACrlfEndDoesNotCountAgainstTheLimit) {
  // 64 bytes + CRLF is at the limit; 65 bytes is over it, with or without a CR, terminated or
  // not. Small reads (a limit far below the read chunk) and a record cut by the end of input.
  auto got = frame(std::string(64, 'a') + "\r\n" + std::string(65, 'b') + "\r\n" + std::string(64, 'c') + "\r\n" +
                       std::string(65, 'd'),
                   Framing::lines, 64);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_FALSE(got[0].too_long);
  EXPECT_EQ(got[0].text, std::string(64, 'a'));
  EXPECT_TRUE(got[1].too_long);
  EXPECT_EQ(got[1].line, 2u);
  EXPECT_FALSE(got[2].too_long);
  EXPECT_EQ(got[2].text, std::string(64, 'c'));
  EXPECT_TRUE(got[3].too_long);
  EXPECT_TRUE(got[3].unterminated);
  EXPECT_EQ(got[3].text, std::string(65, 'd'));  // under the ledger prefix: the whole record
  auto tail = frame("x\n" + std::string(64, 'e') + "\r", Framing::csv, 64);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_FALSE(tail[1].too_long);
  EXPECT_EQ(tail[1].text, std::string(64, 'e'));
}

TEST(RecordReader, ATooLongRecordsPrefixHoldsOnlyItsOwnBytes) {
  // Limits under the ledger prefix: the prefix is the record's bytes, never what lies past them.
  auto got = frame("ok\n" + std::string(100, 'x'), Framing::lines, 64);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[1].too_long);
  EXPECT_TRUE(got[1].unterminated);
  EXPECT_EQ(got[1].text, std::string(100, 'x'));
  auto terminated = frame(std::string(300, 'y') + "\nz\n", Framing::lines, 64);
  ASSERT_EQ(terminated.size(), 2u);
  EXPECT_EQ(terminated[0].text, std::string(RecordReader::kLedgerPrefix, 'y'));
  EXPECT_EQ(terminated[1].text, "z");
}

// A record that carries no data is counted as a blank line, not read: in CSV a row whose cells all
// hold blanks only, bare or quoted. A quoted cell holding anything else (a quote, a comma) is data.
TEST(RecordReader, BlankRecordsAreRowsOfEmptyCellsBareOrQuoted) {
  for (const char* blank : {"", " \t", ",,,", " , ,\t", "\"\",\"\"", "\" \",,\"\",\"\t\",", "\"\"", "\"\n\",\"\""})
    EXPECT_TRUE(is_blank_record(blank, Framing::csv)) << blank;
  for (const char* data : {"a,,", ",,a", "\"\"\"\",,", "\",\",", "\"a\",\"\"", "\"", "\"\" x,", " \"\",\"\""})
    EXPECT_FALSE(is_blank_record(data, Framing::csv)) << data;
  EXPECT_TRUE(is_blank_record(" \t", Framing::lines));
  EXPECT_FALSE(is_blank_record(",,", Framing::lines));
  EXPECT_FALSE(is_blank_record("\"\"", Framing::lines));
}

}  // namespace
}  // namespace orderpulse
