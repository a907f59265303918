#pragma once
// The result files of an output directory: windows.jsonl (one final window per line) and
// dropped.jsonl (the drop ledger). Owns both file handles and their write buffers; called on the
// engine thread.

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "orderpulse/sink/result_sink.h"

namespace orderpulse {

// Bytes of each result file written so far. A checkpoint records them; a restart from it cuts the
// files back to these lengths, so replayed batches write their lines again instead of twice.
struct OutputMarks {
  std::uint64_t windows_bytes = 0;
  std::uint64_t dropped_bytes = 0;
};

class ResultFiles final : public ResultSink {
 public:
  // Creates the directory if needed and starts both files empty, or, given `resume`, cut back to
  // those lengths. flush_every_batch makes results visible to readers after each micro-batch (live
  // server); batch mode buffers larger writes. Throws std::runtime_error naming the path on
  // failure, or when a file is shorter than `resume` says (lines were lost outside orderpulse).
  ResultFiles(const std::filesystem::path& dir, bool flush_every_batch, const OutputMarks* resume = nullptr);
  ~ResultFiles() override;
  ResultFiles(const ResultFiles&) = delete;
  ResultFiles& operator=(const ResultFiles&) = delete;

  void on_drop(const DropView& drop) override;
  void on_window(const WindowResult& window) override;
  void on_batch_end(const EngineStats& stats) override;
  // Writes out buffered lines and fflushes; throws std::runtime_error on a write error.
  void flush();
  // What has been handed to the OS (after flush()).
  OutputMarks marks() const { return marks_; }
  // Descriptors of both files, for fsync on the checkpoint writer thread.
  std::vector<int> fds() const;

 private:
  static void write_out(std::FILE* f, std::string& buf, const std::filesystem::path& path, std::uint64_t& written);

  std::filesystem::path windows_path_;
  std::filesystem::path dropped_path_;
  std::FILE* windows_ = nullptr;
  std::FILE* dropped_ = nullptr;
  std::string windows_buf_;
  std::string dropped_buf_;
  bool flush_every_batch_;
  OutputMarks marks_;
};

}  // namespace orderpulse
