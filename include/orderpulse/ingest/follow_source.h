#pragma once
// The live server's file ingest: follows files that other programs keep appending to, like
// `tail -F`, and can resume where a checkpoint left off. Each file is its own watermark source
// (first_source_id + its index). Owns its thread, the open files, their record framing, CSV
// schemas and the record origins that batches point to, so it must outlive every batch it filled.
// The constructor, seek() and initial_positions() belong to the owning thread before start(); after
// it, everything but the probe, done() and failed() is touched only by the source's own thread.
//
// Records go into the BatchBuilder a bounded chunk at a time; each chunk also notes, in the same
// batch, the SourcePosition just past its last consumed record, so a checkpoint taken at a batch
// boundary knows exactly where to resume. When the batch is full the thread waits for the engine
// to take it rather than reading on: memory stays at one chunk whatever the backlog on disk.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "orderpulse/engine/batch_builder.h"
#include "orderpulse/engine/event_batch.h"
#include "orderpulse/ingest/file_source.h"

namespace orderpulse {

// Counters of the followed files, written by the source's thread and read by /metrics from another.
// Sized for its files at construction so readers never see it change shape.
struct FollowProbe {
  FollowProbe() = default;
  explicit FollowProbe(std::vector<std::string> file_paths)
      : paths(std::move(file_paths)), offsets(paths.size()) {}

  const std::vector<std::string> paths;
  std::vector<std::atomic<std::uint64_t>> offsets;  // per file: bytes consumed and handed on
  std::atomic<std::uint64_t> bytes{0};               // consumed, over every file and generation
  std::atomic<std::uint64_t> records{0};             // handed to the builder
  std::atomic<std::uint64_t> blank_lines{0};
  std::atomic<std::uint64_t> rotations{0};           // the path came to name another file
  std::atomic<std::uint64_t> truncations{0};         // a file shrank below what was read
};

struct FollowOptions {
  // How often files with nothing new are looked at again (growth, rotation, truncation).
  std::chrono::milliseconds poll_interval{50};
  // Read every file to its current end once, the way batch mode does (an unterminated last record
  // is a record), then stop: done() turns true. A file missing at that point counts as empty.
  bool stop_at_eof = false;
  // Runs once on the source's thread when done() turns true (stop_at_eof only). Optional; it may
  // call stop() (which then does not join) but must not destroy the source.
  std::function<void()> on_done;
};

class FollowSource {
 public:
  // Opens nothing yet. Throws std::invalid_argument when the probe was not made for these paths.
  FollowSource(std::vector<std::string> paths, std::optional<InputFormat> forced_format, std::size_t max_record_bytes,
               std::uint32_t first_source_id, BatchBuilder& builder, FollowProbe& probe, FollowOptions options = {});
  ~FollowSource();  // stops
  FollowSource(const FollowSource&) = delete;
  FollowSource& operator=(const FollowSource&) = delete;

  // Before start(): opens the files and resumes those with a position (matched by source id;
  // others are ignored). A file that is the same one (device and inode) and at least that long
  // continues at the position, a CSV file with its header read from the start; one rotated or
  // truncated while we were down starts from the beginning, with a warning. Files without a
  // position start at the beginning; missing ones are waited for. Throws std::logic_error once
  // started. Without seek(), files are opened from the start by the thread.
  void seek(const std::vector<SourcePosition>& positions);

  // Where each file will start, one per file in path order: meaningful after seek() (before it, or
  // for a file that is missing, offset 0 with device and inode 0). The first batch after start()
  // notes these positions too, records or not.
  std::vector<SourcePosition> initial_positions() const;

  void start();
  // Prompt (a few tens of milliseconds: sleeps and waits for space are interrupted or sliced) and
  // joins; records already handed to the builder stay there. Safe to call more than once.
  void stop();

  // stop_at_eof: every file was read to its end and all its records are in the builder.
  // Never true otherwise. Any thread. To end a take() loop without losing the last records, read
  // done() before take(): a batch taken after done() was seen true holds everything.
  bool done() const { return done_.load(std::memory_order_acquire); }
  // The thread ended on an unexpected error (logged). Any thread.
  bool failed() const { return failed_.load(std::memory_order_acquire); }

  std::uint32_t first_source_id() const { return first_source_id_; }
  std::size_t file_count() const { return files_.size(); }

 private:
  struct File;

  void run();
  bool service(File& f);
  bool read_chunk(File& f);
  bool check_file(File& f);
  bool deliver(File& f);
  bool wait_for_space();
  void sleep_for(std::chrono::milliseconds d);
  bool open_file(File& f, bool from_poll);
  void start_reading(File& f, std::uint64_t offset, std::uint64_t line);
  bool read_header(File& f, std::uint64_t offset);
  bool take_header(File& f, std::string_view text, std::uint64_t line, bool too_long);
  void close_file(File& f);
  void mark_broken(File& f, const std::string& why);
  SourcePosition position_of(const File& f) const;

  std::vector<std::unique_ptr<File>> files_;
  std::optional<InputFormat> forced_;
  std::size_t max_record_;
  std::uint32_t first_source_id_;
  BatchBuilder& builder_;
  FollowProbe& probe_;
  FollowOptions options_;

  // One chunk, framed outside the builder's lock and copied in under it.
  struct Staged {
    std::size_t text_offset;
    std::size_t length;
    std::uint64_t line;
    RecordFlag flag;
    std::uint64_t end_offset;  // position just past this record
    std::uint64_t next_line;
  };
  std::string stage_text_;
  std::vector<Staged> staged_;
  std::size_t cursor_ = 0;     // staged records already in the builder
  std::vector<std::string_view> cells_;
  std::string scratch_;

  std::thread thread_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> done_{false};
  std::atomic<bool> failed_{false};
  bool started_ = false;
};

}  // namespace orderpulse
