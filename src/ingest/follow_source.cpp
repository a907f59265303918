#include "orderpulse/ingest/follow_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <limits>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

#include "orderpulse/event/csv.h"
#include "orderpulse/event/parser.h"
#include "orderpulse/ingest/record_reader.h"

namespace orderpulse {
namespace {

// One chunk per builder lock: large enough that the lock is rare, small enough that the engine's
// take() never waits long and a full batch never hides much unread data in our hands.
constexpr std::size_t kChunkRecords = 4096;
constexpr std::size_t kChunkBytes = 1 << 20;
// wait_for_space is not woken by stop(): short slices keep stop prompt.
constexpr auto kSpaceSlice = std::chrono::milliseconds(25);

enum class FileState : std::uint8_t {
  waiting,   // no file at the path (or not openable): looked for every poll
  reading,   // following the open file
  draining,  // the path names another file now: reading the old one to its end first
  broken,    // unreadable (bad CSV header, read error): left alone until replaced or truncated
  finished,  // stop_at_eof: read to the end
};

}  // namespace

struct FollowSource::File {
  std::size_t index = 0;
  std::string path;
  std::uint32_t source_id = 0;
  InputFormat format = InputFormat::ndjson;
  RecordOrigin origin;

  FileState state = FileState::waiting;
  int fd = -1;
  std::unique_ptr<RecordReader> reader;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  bool at_end = false;  // the last read_chunk reached the end of what is written

  bool need_header = false;
  const CsvSchema* schema = nullptr;
  std::deque<CsvSchema> schemas;  // batches may still point to the schema of an earlier generation

  // The last position handed to the builder; the sentinel makes the first chunk note where the
  // file starts, so even a file with nothing new reports its (resumed) position.
  SourcePosition noted{0, std::numeric_limits<std::uint64_t>::max(), 0, 0, 0};

  bool announced_missing = false;  // logged once per absence, not once per poll
  bool path_gone = false;          // the path was removed while we still hold the old file
  std::uint64_t broken_size = 0;   // size when it broke: a shorter file has been rewritten
};

FollowSource::FollowSource(std::vector<std::string> paths, std::optional<InputFormat> forced_format,
                           std::size_t max_record_bytes, std::uint32_t first_source_id, BatchBuilder& builder,
                           FollowProbe& probe, FollowOptions options)
    : forced_(forced_format),
      max_record_(max_record_bytes),
      first_source_id_(first_source_id),
      builder_(builder),
      probe_(probe),
      options_(std::move(options)) {
  if (probe_.offsets.size() != paths.size())
    throw std::invalid_argument("FollowProbe was made for " + std::to_string(probe_.offsets.size()) + " files, not " +
                                std::to_string(paths.size()));
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (paths[i] == "-") throw std::invalid_argument("standard input cannot be followed");
    auto f = std::make_unique<File>();
    f->index = i;
    f->path = std::move(paths[i]);
    f->source_id = first_source_id + static_cast<std::uint32_t>(i);
    f->format = forced_ ? *forced_ : format_for_path(f->path);
    f->origin = RecordOrigin{f->source_id, "file", "file", f->path};
    files_.push_back(std::move(f));
  }
}

FollowSource::~FollowSource() {
  stop();
  for (auto& f : files_) close_file(*f);
}

void FollowSource::start() {
  if (started_) throw std::logic_error("FollowSource::start called twice");
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void FollowSource::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  // From on_done the thread is ending anyway, and cannot join itself.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void FollowSource::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(stop_mutex_);
  stop_cv_.wait_for(lock, d, [&] { return stopping_.load(); });
}

SourcePosition FollowSource::position_of(const File& f) const {
  if (!f.reader) return SourcePosition{f.source_id, 0, 1, f.device, f.inode};
  return SourcePosition{f.source_id, f.reader->bytes_consumed(), f.reader->next_line(), f.device, f.inode};
}

std::vector<SourcePosition> FollowSource::initial_positions() const {
  std::vector<SourcePosition> out;
  out.reserve(files_.size());
  for (const auto& f : files_) out.push_back(position_of(*f));
  return out;
}

void FollowSource::close_file(File& f) {
  f.reader.reset();
  if (f.fd >= 0) ::close(f.fd);
  f.fd = -1;
}

void FollowSource::start_reading(File& f, std::uint64_t offset, std::uint64_t line) {
  f.reader = std::make_unique<RecordReader>(f.fd, framing_for(f.format),
                                            max_record_, offset, line);
  f.reader->set_follow(!options_.stop_at_eof);
  f.need_header = f.format == InputFormat::csv;
  f.schema = nullptr;
  f.at_end = false;
  f.path_gone = false;
  f.state = FileState::reading;
}

bool FollowSource::open_file(File& f, bool from_poll) {
  close_file(f);
  struct stat st {};
  int fd = -1;
  std::string problem;
  if (::stat(f.path.c_str(), &st) != 0) {
    problem = errno == ENOENT ? "does not exist" : std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    // A directory fails every read; a FIFO would block open(): neither can be followed.
    problem = "is not a regular file";
  } else if ((fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC)) < 0 || ::fstat(fd, &st) != 0) {
    problem = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  if (fd < 0) {
    if (options_.stop_at_eof) {
      spdlog::warn("{}: {}; nothing to read from it", f.path, problem);
      f.state = FileState::finished;
    } else {
      if (!f.announced_missing) spdlog::warn("{}: {}; waiting for it to appear", f.path, problem);
      f.state = FileState::waiting;
    }
    f.announced_missing = true;
    return false;
  }
  if (f.announced_missing && from_poll) spdlog::info("{}: appeared, following it", f.path);
  f.announced_missing = false;
  f.fd = fd;
  f.device = static_cast<std::uint64_t>(st.st_dev);
  f.inode = static_cast<std::uint64_t>(st.st_ino);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  start_reading(f, 0, 1);
  return true;
}

void FollowSource::mark_broken(File& f, const std::string& why) {
  struct stat st {};
  f.broken_size = f.fd >= 0 && ::fstat(f.fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  close_file(f);
  if (options_.stop_at_eof) {
    spdlog::error("{}: {}; skipping the rest of it", f.path, why);
    f.state = FileState::finished;
  } else {
    spdlog::error("{}: {}; not reading it until it is replaced or truncated", f.path, why);
    f.state = FileState::broken;
  }
}

bool FollowSource::take_header(File& f, std::string_view text, std::uint64_t line, bool too_long) {
  if (too_long || !split_csv_record(text, cells_, scratch_)) {
    mark_broken(f, "line " + std::to_string(line) + ": unreadable CSV header");
    return false;
  }
  f.schema = &f.schemas.emplace_back(CsvSchema::from_header(cells_));
  f.need_header = false;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const Field field = static_cast<Field>(i);
    const bool required = field == Field::order_id || field == Field::customer_id || field == Field::product_id ||
                          field == Field::unit_price || field == Field::event_time;
    if (required && f.schema->index[i] < 0)
      spdlog::warn("{}: the CSV header has no '{}' column; every row will be rejected", f.path, to_string(field));
  }
  return true;
}

// Resuming a CSV file mid-way still needs its column map: read the header from the start of the
// file. False when the header is unreadable (the file is then broken).
bool FollowSource::read_header(File& f, std::uint64_t offset) {
  if (::lseek(f.fd, 0, SEEK_SET) < 0) throw std::system_error(errno, std::generic_category(), "lseek");
  RecordReader header(f.fd, Framing::csv, max_record_);
  header.set_follow(true);  // only complete records, which a position past the header implies
  FramedRecord rec;
  while (header.next(rec) && rec.end_offset <= offset) {
    if (!rec.too_long && is_blank_record(rec.text, Framing::csv)) continue;
    return take_header(f, rec.text, rec.line, rec.too_long);
  }
  // The position is before the header: it is read in turn.
  f.need_header = true;
  return true;
}

void FollowSource::seek(const std::vector<SourcePosition>& positions) {
  if (started_) throw std::logic_error("FollowSource::seek after start");
  for (auto& fp : files_) {
    File& f = *fp;
    const auto it = std::find_if(positions.begin(), positions.end(),
                                 [&](const SourcePosition& p) { return p.source_id == f.source_id; });
    const bool opened = open_file(f, false);
    if (it == positions.end() || it->offset == 0) continue;
    const SourcePosition& p = *it;
    if (!opened) {
      spdlog::warn("{}: cannot resume at byte {}: the file is not there; it will be read from the start", f.path,
                   p.offset);
      continue;
    }
    if (f.device != p.device || f.inode != p.inode) {
      spdlog::warn("{}: is another file than the one read up to byte {} (inode {} then, {} now): it was rotated or "
                   "replaced while we were down; reading the new file from the start",
                   f.path, p.offset, p.inode, f.inode);
      continue;
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat " + f.path);
    if (static_cast<std::uint64_t>(st.st_size) < p.offset) {
      spdlog::warn("{}: is {} bytes, shorter than the {} already read: it was truncated while we were down; reading "
                   "it from the start",
                   f.path, st.st_size, p.offset);
      continue;
    }
    bool header_read = false;
    if (f.format == InputFormat::csv) {
      if (!read_header(f, p.offset)) continue;  // broken, logged
      header_read = !f.need_header;
    }
    if (::lseek(f.fd, static_cast<off_t>(p.offset), SEEK_SET) < 0)
      throw std::system_error(errno, std::generic_category(), "lseek " + f.path);
    const CsvSchema* schema = f.schema;
    start_reading(f, p.offset, p.line);
    if (header_read) {
      f.schema = schema;
      f.need_header = false;
    }
    spdlog::info("{}: resuming at byte {} (line {})", f.path, p.offset, p.line);
  }
}

void FollowSource::run() {
  try {
    while (!stopping_ && !builder_.closed()) {
      bool busy = false;
      bool all_finished = true;
      for (auto& f : files_) {
        if (stopping_) break;
        if (service(*f)) busy = true;
        if (f->state != FileState::finished) all_finished = false;
      }
      if (stopping_) break;
      if (options_.stop_at_eof && all_finished) {
        done_.store(true, std::memory_order_release);
        spdlog::info("followed files read to their end");
        if (options_.on_done) options_.on_done();
        break;
      }
      if (!busy) sleep_for(options_.poll_interval);
    }
  } catch (const std::exception& e) {
    spdlog::error("file follower stopped: {}", e.what());
    failed_.store(true, std::memory_order_release);
  }
}

// One step for one file: a chunk of records, or a look at whether the file changed. True when it
// did something, so the loop goes round again without sleeping.
bool FollowSource::service(File& f) {
  switch (f.state) {
    case FileState::finished:
      return false;
    case FileState::waiting:
      return open_file(f, true);
    case FileState::broken: {
      struct stat st {};
      if (::stat(f.path.c_str(), &st) != 0) return false;
      const bool replaced = static_cast<std::uint64_t>(st.st_dev) != f.device ||
                            static_cast<std::uint64_t>(st.st_ino) != f.inode ||
                            static_cast<std::uint64_t>(st.st_size) < f.broken_size;
      if (!replaced) return false;
      spdlog::info("{}: changed since it became unreadable; reading it from the start", f.path);
      return open_file(f, false);
    }
    case FileState::reading:
    case FileState::draining:
      break;
  }
  // Reading ahead while the batch is full would only move the backlog from disk into memory.
  if (builder_.full() && !wait_for_space()) return false;
  bool consumed = false;
  try {
    consumed = read_chunk(f);
  } catch (const std::system_error& e) {
    mark_broken(f, e.what());
    return true;
  }
  if (f.state == FileState::broken || f.state == FileState::finished) return true;  // a bad CSV header
  if (!deliver(f)) return false;
  if (!f.at_end) return true;
  if (!f.reader->follow()) {
    // Read to the real end: stop_at_eof is done with the file; a rotated-away file gives way to the
    // new one.
    close_file(f);
    if (f.state == FileState::draining) {
      open_file(f, false);
    } else {
      f.state = FileState::finished;
    }
    return true;
  }
  return check_file(f) || consumed;
}

// Frames up to one chunk into staged_, outside the builder's lock. True when bytes were consumed.
bool FollowSource::read_chunk(File& f) {
  staged_.clear();
  stage_text_.clear();
  cursor_ = 0;
  const std::uint64_t before = f.reader->bytes_consumed();
  std::uint64_t blanks = 0;
  FramedRecord rec;
  f.at_end = false;
  while (staged_.size() < kChunkRecords && stage_text_.size() < kChunkBytes) {
    if (!f.reader->next(rec)) {
      f.at_end = true;
      break;
    }
    if (!rec.too_long && is_blank_record(rec.text, framing_for(f.format))) {
      ++blanks;
      continue;
    }
    if (f.need_header) {
      if (!take_header(f, rec.text, rec.line, rec.too_long)) break;
      continue;
    }
    staged_.push_back(Staged{stage_text_.size(), rec.text.size(), rec.line,
                             rec.too_long ? RecordFlag::too_long : RecordFlag::none, rec.end_offset,
                             f.reader->next_line()});
    stage_text_.append(rec.text);
  }
  probe_.blank_lines += blanks;
  if (!f.reader) return true;  // broken by its header
  const std::uint64_t after = f.reader->bytes_consumed();
  probe_.bytes += after - before;
  return after != before;
}

bool FollowSource::wait_for_space() {
  while (!stopping_) {
    if (builder_.wait_for_space(BatchBuilder::Clock::now() + kSpaceSlice)) return true;
    if (builder_.closed()) return false;
  }
  return false;
}

// Hands the staged chunk to the builder, never past its max_records, together with the position
// just past the last record that went in. False when stopping (what is left of the chunk is
// dropped: its position was never noted, so a restart reads it again).
bool FollowSource::deliver(File& f) {
  const SourcePosition end = position_of(f);  // after the whole chunk: trailing blank lines included
  while (true) {
    if (cursor_ == staged_.size() && end == f.noted) return true;
    if (stopping_ || builder_.closed()) return false;
    std::size_t added = 0;
    SourcePosition reached = f.noted;
    builder_.append([&](EventBatch& batch) {
      const std::size_t max = builder_.max_records();
      const std::size_t room = batch.size() < max ? max - batch.size() : 0;
      added = std::min(room, staged_.size() - cursor_);
      const RecordFormat format{f.schema};
      for (std::size_t i = cursor_; i < cursor_ + added; ++i) {
        const Staged& s = staged_[i];
        batch.add(std::string_view(stage_text_).substr(s.text_offset, s.length), s.line, &f.origin, format, s.flag);
      }
      if (cursor_ + added == staged_.size()) {
        reached = end;
      } else if (added > 0) {
        const Staged& last = staged_[cursor_ + added - 1];
        reached = SourcePosition{f.source_id, last.end_offset, last.next_line, f.device, f.inode};
      }
      if (reached != f.noted) batch.note_position(reached);
    });
    cursor_ += added;
    probe_.records += added;
    if (reached != f.noted) {
      f.noted = reached;
      probe_.offsets[f.index].store(reached.offset, std::memory_order_relaxed);
    }
    if (cursor_ < staged_.size() && !wait_for_space()) return false;
  }
}

// The reader is at the end of what is written: has the file been truncated, or the path moved on to
// another file? True when that changed what to read next.
bool FollowSource::check_file(File& f) {
  struct stat st {};
  if (::fstat(f.fd, &st) == 0) {
    const off_t read_to = ::lseek(f.fd, 0, SEEK_CUR);
    if (read_to >= 0 && st.st_size < read_to) {
      // Bytes we read are gone (`: > f`, copytruncate): whatever the file holds now is new. An
      // unfinished record we held goes with them: it was never handed on, so nothing is lost twice.
      spdlog::warn("{}: truncated ({} bytes now, {} had been read); reading it again from the start", f.path,
                   st.st_size, read_to);
      ++probe_.truncations;
      if (::lseek(f.fd, 0, SEEK_SET) < 0) throw std::system_error(errno, std::generic_category(), "lseek " + f.path);
      start_reading(f, 0, 1);
      return true;
    }
  }
  if (::stat(f.path.c_str(), &st) != 0) {
    // Keep the old file: a writer may still finish it, and the path may come back.
    if (!f.path_gone) spdlog::warn("{}: removed; reading what is left of it and waiting for the path to reappear", f.path);
    f.path_gone = true;
    return false;
  }
  if (static_cast<std::uint64_t>(st.st_dev) == f.device && static_cast<std::uint64_t>(st.st_ino) == f.inode) {
    if (f.path_gone) spdlog::info("{}: back in place", f.path);
    f.path_gone = false;
    return false;
  }
  // Finish the old file first (more may have been written between our last read and the rename),
  // its unterminated last record included, as batch mode would read it.
  spdlog::info("{}: rotated, following the new file", f.path);
  ++probe_.rotations;
  f.state = FileState::draining;
  f.reader->set_follow(false);
  return true;
}

}  // namespace orderpulse
