#pragma once
// Reads a CSV file whose columns are located by header name, whatever their order. Owns the file
// descriptor, the RecordReader framing it (quoted fields with newlines, CRLF, BOM) and the
// split buffers. Each data row comes back classified, so callers can count every row they
// cannot use instead of skipping it silently.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "orderpulse/ingest/record_reader.h"

namespace orderpulse::sim {

enum class RowKind : std::uint8_t {
  data,   // usable shape: field(i) is valid
  blank,  // empty line, or only separators and whitespace (",,,,,,,")
  bad,    // not UTF-8, unsplittable (stray or unterminated quote) or a column count unlike the header's
};

class CsvTable {
 public:
  // Opens `path` and reads its header. Throws RunFailure naming the file when it cannot be
  // opened or is empty, and naming the column when one of `columns` is absent.
  CsvTable(std::string path, std::initializer_list<std::string_view> columns);
  ~CsvTable();
  CsvTable(const CsvTable&) = delete;
  CsvTable& operator=(const CsvTable&) = delete;

  // False at end of file. Throws RunFailure on a read error.
  bool next(RowKind& kind);

  // Field of the i-th requested column in the current data row, trimmed of spaces and tabs.
  std::string_view field(std::size_t i) const { return fields_[index_[i]]; }
  std::uint64_t line() const { return record_.line; }
  std::uint64_t rows() const { return rows_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::unique_ptr<RecordReader> reader_;
  std::size_t header_width_ = 0;
  std::vector<std::size_t> index_;  // requested column -> position in the row
  FramedRecord record_;
  std::vector<std::string_view> fields_;
  std::string scratch_;
  std::uint64_t rows_ = 0;
};

}  // namespace orderpulse::sim
