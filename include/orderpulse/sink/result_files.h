#pragma once
// The result files of an output directory: windows.jsonl (one final window per line),
// dropped.jsonl (the drop ledger), alerts.jsonl (the data rules' alerts) and, in serve mode once a
// system-health rule fires, health_alerts.jsonl. Owns the file handles and their write buffers;
// called on the engine thread.

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
  std::uint64_t alerts_bytes = 0;
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
  void on_alert(const Alert& alert) override;
  void on_batch_end(const EngineStats& stats) override;
  // Writes out buffered lines and fflushes; throws std::runtime_error on a write error.
  void flush();
  // What has been handed to the OS (after flush()).
  OutputMarks marks() const { return marks_; }
  // Descriptors of the checkpointed files, for fsync on the checkpoint writer thread.
  std::vector<int> fds() const;

 private:
  static void write_out(std::FILE* f, std::string& buf, const std::filesystem::path& path, std::uint64_t& written);

  std::filesystem::path windows_path_;
  std::filesystem::path dropped_path_;
  std::filesystem::path alerts_path_;
  std::filesystem::path health_path_;
  std::FILE* windows_ = nullptr;
  std::FILE* dropped_ = nullptr;
  std::FILE* alerts_ = nullptr;
  // Health alerts are observations of the wall clock, not replayed: appended, never cut back.
  std::FILE* health_ = nullptr;
  std::string windows_buf_;
  std::string dropped_buf_;
  std::string alerts_buf_;
  std::string health_buf_;
  std::uint64_t health_bytes_ = 0;
  bool flush_every_batch_;
  OutputMarks marks_;
};

}  // namespace orderpulse
