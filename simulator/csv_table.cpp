#include "csv_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "errors.h"
#include "orderpulse/event/csv.h"

namespace orderpulse::sim {
namespace {

constexpr std::size_t kMaxRecordBytes = 1 << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

CsvTable::CsvTable(std::string path, std::initializer_list<std::string_view> columns) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw RunFailure("cannot open " + path_ + ": " + std::strerror(errno));
  reader_ = std::make_unique<RecordReader>(fd_, Framing::csv, kMaxRecordBytes);
  // The header is the first non-empty record; exports sometimes start with a blank line.
  bool found = false;
  while (!found) {
    try {
      if (!reader_->next(record_)) throw RunFailure(path_ + " is empty: no header row");
    } catch (const std::system_error& e) {
      throw RunFailure("cannot read " + path_ + ": " + e.what());
    }
    found = !is_blank_record(record_.text, Framing::csv);
  }
  if (record_.too_long || !split_csv_record(strip_bom(record_.text), fields_, scratch_)) {
    throw RunFailure(path_ + ": cannot parse the header row");
  }
  header_width_ = fields_.size();
  for (std::string_view wanted : columns) {
    std::size_t at = fields_.size();
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (iequals(trim(fields_[i]), wanted)) {
        at = i;
        break;
      }
    }
    if (at == fields_.size()) {
      throw RunFailure(path_ + " lacks column '" + std::string(wanted) + "'");
    }
    index_.push_back(at);
  }
}

CsvTable::~CsvTable() {
  reader_.reset();
  if (fd_ >= 0) ::close(fd_);
}

bool CsvTable::next(RowKind& kind) {
  try {
    if (!reader_->next(record_)) return false;
  } catch (const std::system_error& e) {
    throw RunFailure("cannot read " + path_ + ": " + e.what());
  }
  ++rows_;
  if (record_.too_long) {
    kind = RowKind::bad;
    return true;
  }
  // Blank as batch mode's readers hold it: cells of blanks only, bare or quoted.
  if (is_blank_record(record_.text, Framing::csv)) {
    kind = RowKind::blank;
    return true;
  }
  // Not UTF-8 (a Latin-1 export, say): unusable, as the engine's CSV reader holds it. Replacing
  // the bytes would make distinct ids print alike.
  if (!is_valid_utf8(record_.text) || !split_csv_record(record_.text, fields_, scratch_)) {
    kind = RowKind::bad;
    return true;
  }
  for (auto& f : fields_) f = trim(f);
  kind = fields_.size() == header_width_ ? RowKind::data : RowKind::bad;
  return true;
}

}  // namespace orderpulse::sim
