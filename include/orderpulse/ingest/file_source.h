#pragma once
// Batch mode's source: input files (or stdin) read in the given order as one watermark source.
// Owns the open file, the record framing, the CSV schemas and the record origins that batches
// point to, so it must outlive every batch it filled. Runs on the thread that drives the engine.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "orderpulse/engine/event_batch.h"
#include "orderpulse/event/parser.h"
#include "orderpulse/ingest/record_reader.h"

namespace orderpulse {

enum class InputFormat : std::uint8_t { ndjson, csv };

// From the extension: .csv is CSV, anything else (.ndjson, .jsonl, .json, stdin) NDJSON.
InputFormat format_for_path(const std::string& path);
// How records of a format are framed: CSV keeps quoted newlines inside a record.
inline Framing framing_for(InputFormat f) { return f == InputFormat::csv ? Framing::csv : Framing::lines; }

class FileSource {
 public:
  static constexpr std::uint32_t kSourceId = 0;

  // Opens nothing yet; a missing file is reported when reached (std::runtime_error).
  FileSource(std::vector<std::string> paths, std::optional<InputFormat> forced, std::size_t max_record_bytes);
  ~FileSource();
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Throws std::runtime_error naming the first input that cannot be opened.
  void check_inputs() const;

  // Appends up to max_records records to the batch. False when the input is exhausted and nothing
  // was added.
  bool fill(EventBatch& batch, std::size_t max_records);

  std::uint64_t blank_lines() const { return blank_lines_; }
  std::uint64_t bytes_consumed() const { return done_bytes_ + (reader_ ? reader_->bytes_consumed() : 0); }
  // Total input size when every input is a regular file, else 0 (unknown).
  std::uint64_t total_bytes() const { return total_bytes_; }

 private:
  bool open_next();
  void close_current();

  std::vector<std::string> paths_;
  std::optional<InputFormat> forced_;
  std::size_t max_record_;
  std::size_t next_path_ = 0;
  int fd_ = -1;
  std::unique_ptr<RecordReader> reader_;
  InputFormat format_ = InputFormat::ndjson;
  bool need_header_ = false;
  const CsvSchema* schema_ = nullptr;
  std::deque<CsvSchema> schemas_;
  std::deque<RecordOrigin> origins_;
  const RecordOrigin* origin_ = nullptr;
  std::vector<std::string_view> cells_;
  std::string scratch_;
  std::uint64_t blank_lines_ = 0;
  std::uint64_t done_bytes_ = 0;
  std::uint64_t total_bytes_ = 0;
};

}  // namespace orderpulse
