#include "orderpulse/sink/result_files.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "orderpulse/common/json_text.h"

namespace orderpulse {
namespace {

constexpr std::size_t kBufferLimit = 1 << 20;

std::FILE* open_for_write(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
  return f;
}

}  // namespace

ResultFiles::ResultFiles(const std::filesystem::path& dir, bool flush_every_batch)
    : windows_path_(dir / "windows.jsonl"), dropped_path_(dir / "dropped.jsonl"), flush_every_batch_(flush_every_batch) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create output directory " + dir.string() + ": " + ec.message());
  windows_ = open_for_write(windows_path_);
  dropped_ = open_for_write(dropped_path_);
}

ResultFiles::~ResultFiles() {
  try {
    flush();
  } catch (...) {
    // Destructors must not throw; callers that care call flush() first.
  }
  std::fclose(windows_);
  std::fclose(dropped_);
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
  dropped_buf_ += ",\"line\":";
  dropped_buf_ += std::to_string(d.position);
  dropped_buf_ += ",\"raw\":";
  append_json_string(dropped_buf_, d.raw);
  dropped_buf_ += "}\n";
}

void ResultFiles::on_window(const WindowResult& w) {
  append_window_json(windows_buf_, w);
  windows_buf_.push_back('\n');
}

void ResultFiles::on_batch_end(const EngineStats&) {
  if (flush_every_batch_) {
    flush();
    return;
  }
  if (windows_buf_.size() > kBufferLimit) write_out(windows_, windows_buf_, windows_path_);
  if (dropped_buf_.size() > kBufferLimit) write_out(dropped_, dropped_buf_, dropped_path_);
}

void ResultFiles::write_out(std::FILE* f, std::string& buf, const std::filesystem::path& path) {
  if (!buf.empty() && std::fwrite(buf.data(), 1, buf.size(), f) != buf.size())
    throw std::runtime_error("write to " + path.string() + " failed: " + std::strerror(errno));
  buf.clear();
}

void ResultFiles::flush() {
  write_out(windows_, windows_buf_, windows_path_);
  write_out(dropped_, dropped_buf_, dropped_path_);
  if (std::fflush(windows_) != 0 || std::fflush(dropped_) != 0)
    throw std::runtime_error("flush of results in " + windows_path_.parent_path().string() + " failed: " + std::strerror(errno));
}

}  // namespace orderpulse
