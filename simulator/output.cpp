#include "output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "errors.h"

namespace orderpulse::sim {
namespace {

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

std::string_view to_string(OutputFormat f) { return f == OutputFormat::csv ? "csv" : "ndjson"; }

OutputFormat resolve_format(std::string_view requested, std::string_view out_path) {
  if (requested == "csv") return OutputFormat::csv;
  if (requested == "ndjson") return OutputFormat::ndjson;
  if (!requested.empty()) {
    throw UsageError("--format must be ndjson or csv, got '" + std::string(requested) + "'");
  }
  return out_path.size() > 4 && out_path.substr(out_path.size() - 4) == ".csv" ? OutputFormat::csv
                                                                              : OutputFormat::ndjson;
}

DurationMs parse_duration(std::string_view option, std::string_view text) {
  const auto fail = [&]() -> DurationMs {
    throw UsageError(std::string(option) + " must be a duration like 500ms, 5s, 1m or 2h, got '" +
                     std::string(text) + "'");
  };
  std::size_t digits = 0;
  while (digits < text.size() && ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) {
    ++digits;
  }
  if (digits == 0 || digits > 15) return fail();
  const std::string_view number = text.substr(0, digits);
  const std::string_view unit = text.substr(digits);
  std::int64_t scale = 0;
  if (unit == "ms") scale = 1;
  else if (unit == "s") scale = 1000;
  else if (unit == "m" || unit == "min") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else if (unit.empty() && number.find_first_not_of('0') == std::string_view::npos) scale = 1;
  else return fail();
  // Integer and fraction parts separately, so "1.5s" is exact without floating point.
  const std::size_t dot = number.find('.');
  const std::string_view whole = number.substr(0, dot);
  std::int64_t value = 0;
  if (!whole.empty() && std::from_chars(whole.data(), whole.data() + whole.size(), value).ec != std::errc()) {
    return fail();
  }
  std::int64_t ms = value * scale;
  if (dot != std::string_view::npos) {
    const std::string_view frac = number.substr(dot + 1);
    if (frac.empty() || frac.find('.') != std::string_view::npos) return fail();
    std::int64_t denom = 1;
    std::int64_t f = 0;
    for (char c : frac.substr(0, 9)) {
      f = f * 10 + (c - '0');
      denom *= 10;
    }
    ms += f * scale / denom;
  }
  return ms;
}

std::uint64_t parse_count(std::string_view option, std::string_view text) {
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    throw UsageError(std::string(option) + " must be a non-negative integer, got '" +
                     std::string(text) + "'");
  }
  return value;
}

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  if (path_ == "-") {
    fd_ = STDOUT_FILENO;
  } else {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw RunFailure(errno_text("cannot open", path_));
    owns_fd_ = true;
  }
  buf_.reserve(kFlushBytes + (64 << 10));
}

OutputFile::~OutputFile() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

void OutputFile::flush() {
  const char* p = buf_.data();
  std::size_t left = buf_.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw RunFailure(errno_text("cannot write", path_ == "-" ? std::string("stdout") : path_));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  buf_.clear();
}

void OutputFile::close() {
  flush();
  if (owns_fd_) {
    const int fd = fd_;
    fd_ = -1;
    owns_fd_ = false;
    if (::close(fd) != 0) throw RunFailure(errno_text("cannot close", path_));
  }
}

void write_whole_file(const std::string& path, std::string_view content) {
  OutputFile file(path);
  file.buffer().append(content);
  file.close();
}

}  // namespace orderpulse::sim
