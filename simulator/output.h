#pragma once
// Output plumbing shared by the subcommands: the buffered writer, output format selection and
// the small text parsers for command-line values (durations, counts).

#include <cstdint>
#include <string>
#include <string_view>

#include "orderpulse/common/time.h"

namespace orderpulse::sim {

enum class OutputFormat : std::uint8_t { ndjson, csv };

std::string_view to_string(OutputFormat f);

// `requested` is "", "ndjson" or "csv"; when empty the extension of `out_path` decides
// (".csv" -> csv, anything else including "-" -> ndjson). Throws UsageError.
OutputFormat resolve_format(std::string_view requested, std::string_view out_path);

// "5s", "500ms", "1m", "2h", "1.5s" or "0". Throws UsageError naming `option`.
DurationMs parse_duration(std::string_view option, std::string_view text);

// Plain decimal, no sign. Throws UsageError naming `option`.
std::uint64_t parse_count(std::string_view option, std::string_view text);

// Buffered writer to a file or to stdout ("-"). Owns the file descriptor (never stdout's) and
// the buffer, which callers append to directly and then call maybe_flush(): one write(2) per
// megabyte keeps generation fast. Errors throw RunFailure naming the path.
class OutputFile {
 public:
  static constexpr std::size_t kFlushBytes = 1 << 20;

  explicit OutputFile(std::string path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::string& buffer() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= kFlushBytes) flush();
  }
  void flush();
  // Flushes and closes; a failing close (e.g. a full disk on NFS) is an error too.
  void close();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool owns_fd_ = false;
  std::string buf_;
};

// Writes a whole small file (catalog, report) at once.
void write_whole_file(const std::string& path, std::string_view content);

}  // namespace orderpulse::sim
