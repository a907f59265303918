#pragma once
// Frames a byte stream into records: newline-delimited (NDJSON) or RFC 4180 CSV records, which may
// hold newlines inside quotes. Owns its read buffer; runs on whichever thread drives the source.
// A record longer than the limit is skipped without being held in memory: only a short prefix is
// kept for the drop ledger.
//
// In follow mode (a file that is still being written) a read() of 0 bytes means "nothing more yet"
// rather than the end of the stream: next() returns false, keeps a partial record (or the skipping of
// an over-long one) pending, and picks it up on a later call once more bytes have arrived.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace orderpulse {

enum class Framing : std::uint8_t { lines, csv };

struct FramedRecord {
  std::string_view text;      // without the line terminator (LF or CRLF); valid until next()
  std::uint64_t line = 0;     // 1-based line number where the record starts
  std::uint64_t offset = 0;   // byte offset of the record start in the stream
  std::uint64_t end_offset = 0;  // byte offset just past the record and its terminator
  bool too_long = false;      // text is then only a prefix
  bool unterminated = false;  // the stream ended before a line terminator
};

// True for a record that carries no data, which every source counts as a blank line rather than
// reads: blanks only (space, tab, CR), and in CSV a row of empty cells, bare or quoted.
bool is_blank_record_slow(std::string_view text, Framing framing);
inline bool is_blank_record(std::string_view text, Framing framing) {
  // Records start with '{' or a cell's first byte nearly always: one comparison settles them. (A
  // CSV row of quoted empty cells is blank too.)
  if (!text.empty() && static_cast<unsigned char>(text.front()) > ' ' && text.front() != ',' &&
      (text.front() != '"' || framing != Framing::csv))
    return false;
  return is_blank_record_slow(text, framing);
}

class RecordReader {
 public:
  static constexpr std::size_t kLedgerPrefix = 256;

  // Reads from fd (not owned). start_offset/start_line describe where the fd is positioned.
  RecordReader(int fd, Framing framing, std::size_t max_record_bytes,
               std::uint64_t start_offset = 0, std::uint64_t start_line = 1);

  // False at end of input (in follow mode: when nothing complete is available yet). Throws
  // std::system_error on a read error.
  bool next(FramedRecord& out);

  // Switching follow mode off makes the next end of data final again, so a pending unterminated
  // record is returned as the last one (a followed file that was rotated away is finished).
  void set_follow(bool follow) {
    follow_ = follow;
    if (follow) eof_ = false;
  }
  bool follow() const { return follow_; }

  // Offset just past the last record returned (where a restart would resume), and the line there.
  std::uint64_t bytes_consumed() const { return offset_; }
  std::uint64_t next_line() const { return line_; }

 private:
  bool fill();                         // false at EOF
  std::size_t find_end(std::size_t from);  // index of the terminating '\n' or npos
  bool skip_too_long(FramedRecord& out);
  // A record's text without its CR, or its ledger prefix when it is over the limit.
  void set_text(FramedRecord& out, const char* start, std::size_t len);

  int fd_;
  Framing framing_;
  std::size_t max_record_;
  std::vector<char> buf_;
  std::size_t begin_ = 0;  // start of the current record in buf_
  std::size_t scan_ = 0;   // how far find_end has looked
  std::size_t end_ = 0;    // end of valid data in buf_
  // Where CSV framing stands in the current record. A quote opens a quoted field only at a field's
  // start, as split_csv_record reads it: a stray quote inside a bare field (an inch mark, say)
  // leaves that one record malformed instead of swallowing the lines after it.
  enum class CsvState : std::uint8_t { field_start, bare, quoted, quote_in_quoted };
  CsvState csv_state_ = CsvState::field_start;
  // Whether the current record opened a quoted field: only then can it hold a newline, and only
  // then are its lines counted one by one.
  bool csv_quoted_ = false;
  bool eof_ = false;
  bool follow_ = false;
  bool at_stream_start_ = true;
  bool skipping_ = false;  // inside an over-long record whose end has not been read yet
  std::uint64_t skip_line_ = 0;
  std::uint64_t skip_consumed_ = 0;
  std::uint64_t offset_;   // stream offset of buf_[begin_]
  std::uint64_t line_;
  std::string prefix_;
};

}  // namespace orderpulse
