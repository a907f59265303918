#include "orderpulse/ingest/file_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

#include "orderpulse/event/csv.h"

namespace orderpulse {
namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

InputFormat format_for_path(const std::string& path) {
  return ends_with(path, ".csv") || ends_with(path, ".CSV") ? InputFormat::csv : InputFormat::ndjson;
}

FileSource::FileSource(std::vector<std::string> paths, std::optional<InputFormat> forced, std::size_t max_record_bytes)
    : paths_(std::move(paths)), forced_(forced), max_record_(max_record_bytes) {
  bool all_regular = true;
  for (const auto& p : paths_) {
    struct stat st {};
    if (p != "-" && ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total_bytes_ += static_cast<std::uint64_t>(st.st_size);
    } else {
      all_regular = false;
    }
  }
  if (!all_regular) total_bytes_ = 0;
}

FileSource::~FileSource() { close_current(); }

void FileSource::check_inputs() const {
  for (const auto& p : paths_) {
    if (p == "-") continue;
    if (::access(p.c_str(), R_OK) != 0) throw std::runtime_error("cannot read input " + p + ": " + std::strerror(errno));
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) throw std::runtime_error("input " + p + " is a directory");
  }
}

void FileSource::close_current() {
  if (reader_) done_bytes_ += reader_->bytes_consumed();
  reader_.reset();
  if (fd_ > 0) ::close(fd_);
  fd_ = -1;
}

bool FileSource::open_next() {
  close_current();
  if (next_path_ >= paths_.size()) return false;
  const std::string& path = paths_[next_path_++];
  if (path == "-") {
    fd_ = 0;
  } else {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("cannot read input " + path + ": " + std::strerror(errno));
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  format_ = forced_ ? *forced_ : format_for_path(path);
  reader_ = std::make_unique<RecordReader>(fd_, framing_for(format_), max_record_);
  need_header_ = format_ == InputFormat::csv;
  schema_ = nullptr;
  origin_ = &origins_.emplace_back(RecordOrigin{kSourceId, "file", "file", path == "-" ? "<stdin>" : path});
  return true;
}

bool FileSource::fill(EventBatch& batch, std::size_t max_records) {
  const std::size_t before = batch.size();
  FramedRecord rec;
  while (batch.size() - before < max_records) {
    if (!reader_ && !open_next()) break;
    bool more;
    try {
      more = reader_->next(rec);
    } catch (const std::system_error& e) {  // read() failed: name the input
      throw std::runtime_error("cannot read input " + origin_->location + ": " + e.what());
    }
    if (!more) {
      close_current();
      continue;
    }
    if (!rec.too_long && is_blank_record(rec.text, framing_for(format_))) {
      ++blank_lines_;
      continue;
    }
    if (need_header_) {
      need_header_ = false;
      if (rec.too_long || !split_csv_record(rec.text, cells_, scratch_))
        throw std::runtime_error(origin_->location + ":" + std::to_string(rec.line) + ": unreadable CSV header");
      schema_ = &schemas_.emplace_back(CsvSchema::from_header(cells_));
      for (std::size_t f = 0; f < kFieldCount; ++f) {
        const Field field = static_cast<Field>(f);
        const bool required = field == Field::order_id || field == Field::customer_id || field == Field::product_id ||
                              field == Field::unit_price || field == Field::event_time;
        if (required && schema_->index[f] < 0)
          spdlog::warn("{}: the CSV header has no '{}' column; every row will be rejected", origin_->location, to_string(field));
      }
      continue;
    }
    batch.add(rec.text, rec.line, origin_, RecordFormat{schema_}, rec.too_long ? RecordFlag::too_long : RecordFlag::none);
  }
  return batch.size() > before;
}

}  // namespace orderpulse
