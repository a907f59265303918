#include "orderpulse/ingest/record_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "orderpulse/common/bytes.h"
#include "orderpulse/event/csv.h"

namespace orderpulse {
namespace {
// Small reads keep what was just read in the cache for the framing and copying that follow; one
// large read() into a cold buffer costs several times more in the kernel's copy.
constexpr std::size_t kReadChunk = 128 << 10;
}

bool is_blank_record_slow(std::string_view text, Framing framing) {
  if (framing != Framing::csv) return text.find_first_not_of(" \t\r") == std::string_view::npos;
  // Most rows that get here hold a value within a byte or two (a quoted first cell).
  if (text.find_first_not_of(" \t\r\n,\"") != std::string_view::npos) return false;
  if (text.find('"') == std::string_view::npos) return true;
  // Only quotes, commas and blanks: blank when every cell is, unquoted ("" is empty, """" holds a
  // quote). A malformed row is left to the parser, which drops it with its reason.
  std::vector<std::string_view> cells;
  std::string scratch;
  if (!split_csv_record(text, cells, scratch)) return false;
  return std::all_of(cells.begin(), cells.end(),
                     [](std::string_view c) { return c.find_first_not_of(" \t\r\n") == std::string_view::npos; });
}

RecordReader::RecordReader(int fd, Framing framing, std::size_t max_record_bytes,
                           std::uint64_t start_offset, std::uint64_t start_line)
    : fd_(fd),
      framing_(framing),
      max_record_(max_record_bytes),
      // Two reads' worth, grown by fill() only for a record that needs more: a vector is zeroed when
      // sized, and sized for the longest record (1 MiB by default, plus four reads) it cost about
      // 310 page faults at every start, for pages few inputs ever read into (3.4 ms of start-up on
      // this VM).
      buf_(2 * kReadChunk),
      at_stream_start_(start_offset == 0),
      offset_(start_offset),
      line_(start_line) {}

bool RecordReader::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    scan_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() - end_ < kReadChunk) buf_.resize(end_ + kReadChunk);
  while (true) {
    ssize_t n = ::read(fd_, buf_.data() + end_, std::min(buf_.size() - end_, kReadChunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "read");
    }
    if (n == 0) {
      // A followed file may still grow: only a plain stream ends here.
      if (!follow_) eof_ = true;
      return false;
    }
    end_ += static_cast<std::size_t>(n);
    return true;
  }
}

std::size_t RecordReader::find_end(std::size_t from) {
  if (framing_ == Framing::lines) {
    const void* p = std::memchr(buf_.data() + from, '\n', end_ - from);
    return p ? static_cast<std::size_t>(static_cast<const char*>(p) - buf_.data()) : std::string_view::npos;
  }
  const char* const b = buf_.data();
  for (std::size_t i = from; i < end_;) {
    if (csv_state_ == CsvState::field_start || csv_state_ == CsvState::bare) {
      // Outside quotes only a quote or a newline matters: skip the plain bytes before the next one.
      // After them the state is what the last of them left (a comma starts a field).
      const std::size_t j = i + find_either(b + i, end_ - i, '"', '\n');
      if (j > i) csv_state_ = b[j - 1] == ',' ? CsvState::field_start : CsvState::bare;
      if (j == end_) return std::string_view::npos;
      if (b[j] == '\n') return j;
      i = j;  // a quote: by the rules below
    } else if (csv_state_ == CsvState::quoted) {
      // Inside quotes everything up to the next quote is text, newlines included.
      const void* quote = std::memchr(b + i, '"', end_ - i);
      if (!quote) return std::string_view::npos;
      csv_state_ = CsvState::quote_in_quoted;  // the closing quote, or half of a doubled one
      i = static_cast<std::size_t>(static_cast<const char*>(quote) - b) + 1;
      continue;
    }
    const char c = b[i++];
    if (c == '"') {
      const bool opens = csv_state_ == CsvState::field_start || csv_state_ == CsvState::quote_in_quoted;
      csv_state_ = opens ? CsvState::quoted : CsvState::bare;
      csv_quoted_ |= opens;
      continue;
    }
    if (c == '\n') return i - 1;
    csv_state_ = c == ',' ? CsvState::field_start : CsvState::bare;
  }
  return std::string_view::npos;
}

void RecordReader::set_text(FramedRecord& out, const char* start, std::size_t len) {
  // The CR of a CRLF end is not part of the record, so it does not count against the limit.
  if (len > 0 && start[len - 1] == '\r') --len;
  out.too_long = len > max_record_;
  if (out.too_long) {
    prefix_.assign(start, std::min(len, kLedgerPrefix));
    out.text = prefix_;
  } else {
    out.text = std::string_view(start, len);
  }
}

bool RecordReader::next(FramedRecord& out) {
  if (skipping_) return skip_too_long(out);
  while (true) {
    if (at_stream_start_ && end_ - begin_ >= 3) {
      if (std::memcmp(buf_.data() + begin_, "\xEF\xBB\xBF", 3) == 0) {
        begin_ += 3;
        scan_ = std::max(scan_, begin_);
        offset_ += 3;
      }
      at_stream_start_ = false;
    }
    const std::size_t nl = scan_ < end_ ? find_end(scan_) : std::string_view::npos;
    if (nl != std::string_view::npos) {
      std::size_t len = nl - begin_;
      const char* start = buf_.data() + begin_;
      out.line = line_;
      out.offset = offset_;
      out.end_offset = offset_ + len + 1;
      out.unterminated = false;
      if (csv_quoted_) line_ += static_cast<std::uint64_t>(std::count(start, start + len, '\n'));
      ++line_;
      set_text(out, start, len);
      offset_ = out.end_offset;
      begin_ = nl + 1;
      scan_ = begin_;
      csv_state_ = CsvState::field_start;
      csv_quoted_ = false;
      // Past the first record a BOM is data; short reads must not make a later one look leading.
      at_stream_start_ = false;
      return true;
    }
    scan_ = end_;
    // Over the limit by more than a CR that may end it: too long whatever follows.
    if (end_ - begin_ > max_record_ + 1) return skip_too_long(out);
    if (!fill()) {
      if (!eof_) return false;  // follow mode: the rest of the record is not written yet
      if (at_stream_start_ && end_ > begin_ && end_ - begin_ < 3 &&
          std::string_view(buf_.data() + begin_, end_ - begin_) == std::string_view("\xEF\xBB\xBF", end_ - begin_)) {
        begin_ = end_;  // a lone (partial) BOM
      }
      at_stream_start_ = false;
      if (end_ == begin_) return false;
      std::size_t len = end_ - begin_;
      const char* start = buf_.data() + begin_;
      out.line = line_;
      out.offset = offset_;
      out.end_offset = offset_ + len;
      out.unterminated = true;
      if (csv_quoted_) line_ += static_cast<std::uint64_t>(std::count(start, start + len, '\n'));
      set_text(out, start, len);  // may be one byte over the limit: room for a CR that never came
      offset_ = out.end_offset;
      begin_ = end_;
      scan_ = end_;
      csv_state_ = CsvState::field_start;
      csv_quoted_ = false;
      return true;
    }
  }
}

bool RecordReader::skip_too_long(FramedRecord& out) {
  // Keep a prefix for the ledger, then discard data until the record ends. In follow mode the end
  // may not be written yet: the skip then resumes on the next call, still holding nothing but the
  // prefix. The prefix is the record's first kLedgerPrefix bytes however the reads fell (a pipe's
  // may be short): it takes each read's share until it is full, and never a byte past the record.
  if (!skipping_) {
    prefix_.assign(buf_.data() + begin_, std::min(kLedgerPrefix, end_ - begin_));
    skipping_ = true;
    skip_line_ = line_;
    skip_consumed_ = 0;
    at_stream_start_ = false;
  }
  bool unterminated = false;
  while (true) {
    const char* start = buf_.data() + begin_;
    // scan_ == end_ here: everything in [begin_, end_) is part of the record.
    if (framing_ == Framing::csv) line_ += static_cast<std::uint64_t>(std::count(start, static_cast<const char*>(buf_.data() + end_), '\n'));
    skip_consumed_ += end_ - begin_;
    begin_ = end_ = scan_ = 0;
    if (!fill()) {
      if (!eof_) return false;
      unterminated = true;
      break;
    }
    const std::size_t nl = find_end(0);
    const std::size_t record_bytes = nl != std::string_view::npos ? nl : end_;
    if (prefix_.size() < kLedgerPrefix)
      prefix_.append(buf_.data(), std::min(kLedgerPrefix - prefix_.size(), record_bytes));
    if (nl != std::string_view::npos) {
      if (framing_ == Framing::csv) line_ += static_cast<std::uint64_t>(std::count(static_cast<const char*>(buf_.data()), static_cast<const char*>(buf_.data() + nl), '\n'));
      skip_consumed_ += nl + 1;
      ++line_;
      begin_ = scan_ = nl + 1;
      break;
    }
    scan_ = end_;
  }
  skipping_ = false;
  // As for any record, a CR before the LF is not part of it (the prefix holds the whole record only
  // under a limit below kLedgerPrefix).
  if (!unterminated && skip_consumed_ <= kLedgerPrefix + 1 && !prefix_.empty() && prefix_.back() == '\r') prefix_.pop_back();
  out.line = skip_line_;
  out.offset = offset_;
  out.too_long = true;
  out.unterminated = unterminated;
  out.end_offset = offset_ + skip_consumed_;
  offset_ = out.end_offset;
  csv_state_ = CsvState::field_start;
  csv_quoted_ = false;
  out.text = prefix_;
  return true;
}

}  // namespace orderpulse
