#include "orderpulse/sink/result_files.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "orderpulse/common/json_text.h"

namespace orderpulse {
namespace {

constexpr std::size_t kBufferLimit = 1 << 20;

// Opens for appending after cutting the file to `keep` bytes (all of it when resuming is off).
std::FILE* open_for_write(const std::filesystem::path& path, const std::uint64_t* keep) {
  if (keep) {
    std::error_code ec;
    const std::uint64_t size = std::filesystem::exists(path, ec) ? std::filesystem::file_size(path, ec) : 0;
    if (ec) throw std::runtime_error("cannot read the size of " + path.string() + ": " + ec.message());
    if (size < *keep)
      throw std::runtime_error(path.string() + " has " + std::to_string(size) + " bytes but the checkpoint covers " +
                               std::to_string(*keep) + ": result lines were lost outside orderpulse; restart with --reset-state to rebuild");
    if (size > *keep) {
      std::filesystem::resize_file(path, *keep, ec);
      if (ec) throw std::runtime_error("cannot cut " + path.string() + " back to the checkpoint: " + ec.message());
    }
  }
  std::FILE* f = std::fopen(path.c_str(), keep ? "ab" : "wb");
  if (!f) throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
  return f;
}

}  // namespace

ResultFiles::ResultFiles(const std::filesystem::path& dir, bool flush_every_batch, const OutputMarks* resume)
    : windows_path_(dir / "windows.jsonl"),
      dropped_path_(dir / "dropped.jsonl"),
      alerts_path_(dir / "alerts.jsonl"),
      health_path_(dir / "health_alerts.jsonl"),
      flush_every_batch_(flush_every_batch) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create output directory " + dir.string() + ": " + ec.message());
  if (resume) marks_ = *resume;
  // A summary is written when a run ends: one left by an earlier run would pass these files off
  // as complete should this run fail.
  std::filesystem::remove(dir / "summary.json", ec);
  windows_ = open_for_write(windows_path_, resume ? &marks_.windows_bytes : nullptr);
  dropped_ = open_for_write(dropped_path_, resume ? &marks_.dropped_bytes : nullptr);
  alerts_ = open_for_write(alerts_path_, resume ? &marks_.alerts_bytes : nullptr);
}

ResultFiles::~ResultFiles() {
  try {
    flush();
  } catch (...) {
    // Destructors must not throw; callers that care call flush() first.
  }
  std::fclose(windows_);
  std::fclose(dropped_);
  std::fclose(alerts_);
  if (health_) std::fclose(health_);
}

void ResultFiles::on_drop(const DropView& d) {
  dropped_buf_ += "{\"reason\":\"";
  dropped_buf_ += to_string(d.reason);
  dropped_buf_ += "\",\"source\":";
  append_json_string(dropped_buf_, d.origin->source);
  dropped_buf_ += ",";
  append_json_string(dropped_buf_, d.origin->location_key);
  dropped_buf_ += ":";
  append_json_string(dropped_buf_, d.origin->location);
  if (d.origin->partition >= 0) {
    dropped_buf_ += ",\"partition\":";
    dropped_buf_ += std::to_string(d.origin->partition);
    dropped_buf_ += ",\"offset\":";
  } else {
    dropped_buf_ += ",\"line\":";
  }
  dropped_buf_ += std::to_string(d.position);
  dropped_buf_ += ",\"raw\":";
  append_json_string(dropped_buf_, d.raw);
  dropped_buf_ += "}\n";
}

void ResultFiles::on_window(const WindowResult& w) {
  append_window_json(windows_buf_, w);
  windows_buf_.push_back('\n');
}

void ResultFiles::on_alert(const Alert& a) {
  if (is_health_rule(a.rule)) {
    if (!health_) {
      health_ = std::fopen(health_path_.c_str(), "ab");
      if (!health_) throw std::runtime_error("cannot write " + health_path_.string() + ": " + std::strerror(errno));
    }
    append_alert_json(health_buf_, a);
    health_buf_.push_back('\n');
    // Health rules are judged after the batch's flush, and they are rare: out at once, so that a
    // reader tailing the file sees them while the input is idle.
    if (flush_every_batch_) {
      write_out(health_, health_buf_, health_path_, health_bytes_);
      if (std::fflush(health_) != 0) throw std::runtime_error("flush of " + health_path_.string() + " failed: " + std::strerror(errno));
    }
    return;
  }
  append_alert_json(alerts_buf_, a);
  alerts_buf_.push_back('\n');
}

void ResultFiles::on_batch_end(const EngineStats&) {
  if (flush_every_batch_) {
    flush();
    return;
  }
  if (windows_buf_.size() > kBufferLimit) write_out(windows_, windows_buf_, windows_path_, marks_.windows_bytes);
  if (dropped_buf_.size() > kBufferLimit) write_out(dropped_, dropped_buf_, dropped_path_, marks_.dropped_bytes);
  if (alerts_buf_.size() > kBufferLimit) write_out(alerts_, alerts_buf_, alerts_path_, marks_.alerts_bytes);
}

void ResultFiles::write_out(std::FILE* f, std::string& buf, const std::filesystem::path& path, std::uint64_t& written) {
  if (!buf.empty() && std::fwrite(buf.data(), 1, buf.size(), f) != buf.size())
    throw std::runtime_error("write to " + path.string() + " failed: " + std::strerror(errno));
  written += buf.size();
  buf.clear();
}

std::vector<int> ResultFiles::fds() const { return {::fileno(windows_), ::fileno(dropped_), ::fileno(alerts_)}; }

void ResultFiles::flush() {
  write_out(windows_, windows_buf_, windows_path_, marks_.windows_bytes);
  write_out(dropped_, dropped_buf_, dropped_path_, marks_.dropped_bytes);
  write_out(alerts_, alerts_buf_, alerts_path_, marks_.alerts_bytes);
  if (health_) write_out(health_, health_buf_, health_path_, health_bytes_);
  if (std::fflush(windows_) != 0 || std::fflush(dropped_) != 0 || std::fflush(alerts_) != 0 || (health_ && std::fflush(health_) != 0))
    throw std::runtime_error("flush of results in " + windows_path_.parent_path().string() + " failed: " + std::strerror(errno));
}

}  // namespace orderpulse
