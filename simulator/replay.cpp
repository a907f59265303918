#include "replay.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "errors.h"
#include "tcp_sender.h"

namespace orderpulse::sim {
namespace {

constexpr std::size_t kChunkBytes = 1 << 20;  // one send(2) of whole lines at --rate max
constexpr std::uint64_t kMaxBurstLines = 8192;
constexpr std::size_t kReleaseBytes = 64 << 20;  // sent data dropped from memory in these steps

// The input file, mapped read-only for its lifetime.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw RunFailure("cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw RunFailure("cannot read " + path + ": not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        throw RunFailure("cannot map " + path + ": " + std::strerror(errno));
      }
      data_ = static_cast<const char*>(p);
      ::madvise(p, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view text() const { return {data_, size_}; }

  // Drops the pages wholly inside `part` (of text()) from this process: they would otherwise
  // count in its resident size until the end. A page touched again is simply read again.
  void release(std::string_view part) const {
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = (reinterpret_cast<std::uintptr_t>(part.data()) + page - 1) / page * page;
    const auto end = (reinterpret_cast<std::uintptr_t>(part.data()) + part.size()) / page * page;
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

// First line start at or after `pos`.
std::size_t next_line_start(std::string_view s, std::size_t pos) {
  if (pos == 0 || pos >= s.size() || s[pos - 1] == '\n') return std::min(pos, s.size());
  const std::size_t nl = s.find('\n', pos);
  return nl == std::string_view::npos ? s.size() : nl + 1;
}

// Up to kChunkBytes of whole lines from the start of `s` (more when one line is longer).
std::size_t chunk_of_bytes(std::string_view s) {
  if (s.size() <= kChunkBytes) return s.size();
  const std::size_t nl = s.rfind('\n', kChunkBytes - 1);
  return nl != std::string_view::npos ? nl + 1 : next_line_start(s, kChunkBytes);
}

// The first `lines` lines of `s` (fewer at its end); `lines` is set to how many were taken.
std::size_t chunk_of_lines(std::string_view s, std::uint64_t& lines) {
  std::size_t pos = 0;
  std::uint64_t taken = 0;
  while (taken < lines && pos < s.size()) {
    pos = next_line_start(s, pos + 1);
    ++taken;
  }
  lines = taken;
  return pos;
}

// Sends one range of lines through its own sender, then closes it.
void send_range(const MappedFile& file, std::string_view range, const ReplayOptions& o, LineSender& sender) {
  const char* kept = range.data();  // sent data before this is released
  if (sender.connect()) {
    Pacer pacer(o.rate / o.connections);
    std::uint64_t done = 0;  // lines, for the pacer
    while (!range.empty() && !stop_requested()) {
      std::size_t len = 0;
      if (o.rate <= 0) {
        len = chunk_of_bytes(range);
      } else {
        std::uint64_t lines = pacer.next(done, kMaxBurstLines);
        if (lines == 0) continue;  // stop request
        len = chunk_of_lines(range, lines);
        done += lines;
      }
      const std::size_t sent = sender.send(range.substr(0, len));
      range.remove_prefix(sent);
      if (sent < len) break;  // stopped
      if (range.data() - kept >= static_cast<std::ptrdiff_t>(kReleaseBytes)) {
        file.release({kept, static_cast<std::size_t>(range.data() - kept)});
        kept = range.data();
      }
    }
  }
  sender.close();
}

}  // namespace

SendResult run_replay(const ReplayOptions& o) {
  const MappedFile file(o.in);
  const std::string_view text = file.text();
  if (o.to.kafka) {
    // One producer, lines in file order; librdkafka spreads them over the partitions by key. A
    // last line without a newline is a whole message here.
    const std::unique_ptr<LineSender> sender = make_sender(o.to, o.connect_timeout, o.kafka);
    send_range(file, text, o, *sender);
    return {sender->summary(), sender->losses()};
  }
  if (!text.empty() && text.back() != '\n') {
    std::fprintf(stderr, "orderpulse-sim: warning: %s does not end with a newline; the server will drop its "
                         "last line as truncated\n", o.in.c_str());
  }
  std::vector<std::size_t> cuts{0};
  for (unsigned k = 1; k < o.connections; ++k) {
    cuts.push_back(std::max(cuts.back(), next_line_start(text, text.size() / o.connections * k)));
  }
  cuts.push_back(text.size());

  std::vector<SendStats> stats(o.connections);
  std::vector<std::exception_ptr> errors(o.connections);
  const auto run = [&](unsigned k) {
    try {
      const std::string label =
          o.connections > 1 ? "connection " + std::to_string(k + 1) + "/" + std::to_string(o.connections) : "";
      TcpSender sender(*o.to.tcp, o.connect_timeout, label);
      send_range(file, text.substr(cuts[k], cuts[k + 1] - cuts[k]), o, sender);
      stats[k] = sender.stats();
    } catch (...) {
      errors[k] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (unsigned k = 1; k < o.connections; ++k) threads.emplace_back(run, k);
  run(0);
  for (auto& t : threads) t.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  SendStats total;
  for (const auto& s : stats) total.merge(s);
  return {total.to_json(), {}};
}

}  // namespace orderpulse::sim
