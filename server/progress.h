#pragma once
// A one-line progress bar on a terminal (records/s, percent, ETA); silent when stderr is not a
// terminal, so pipes and logs stay clean. Owned by the command that drives the engine.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace orderpulse {

class Progress {
 public:
  explicit Progress(std::uint64_t total_bytes)
      : enabled_(::isatty(STDERR_FILENO) == 1), total_(total_bytes), start_(std::chrono::steady_clock::now()) {}

  void update(std::uint64_t records, std::uint64_t bytes) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(records) / secs : 0;
    if (total_ > 0) {
      const double frac = std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total_));
      const double eta = frac > 0 ? secs * (1 - frac) / frac : 0;
      const int filled = static_cast<int>(frac * 30);
      std::fprintf(stderr, "\r[%-30.*s] %5.1f%%  %12llu records  %10.0f rec/s  ETA %5.0fs ", filled,
                   "##############################", frac * 100, static_cast<unsigned long long>(records), rate, eta);
    } else {
      std::fprintf(stderr, "\r%12llu records  %10.0f rec/s ", static_cast<unsigned long long>(records), rate);
    }
    drawn_ = true;
  }

  void done() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
  }

 private:
  bool enabled_;
  std::uint64_t total_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

}  // namespace orderpulse
