#include "pacer.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>
#include <utility>

namespace orderpulse::sim {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void on_stop_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

Clock::duration seconds(double s) {
  constexpr double kLongest = 1e9;  // ~30 years: keeps absurdly slow rates (1e-300/s) finite
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::min(s, kLongest)));
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // no SA_RESTART: a blocked system call returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }

void sleep_until_or_stop(Clock::time_point t) {
  constexpr auto kSlice = std::chrono::milliseconds(50);
  while (!stop_requested()) {
    const auto now = Clock::now();
    if (now >= t) return;
    std::this_thread::sleep_for(std::min<Clock::duration>(t - now, kSlice));
  }
}

Pacer::Pacer(double per_second) : Pacer(Timeline(std::max(per_second, 1e-300), {})) { unlimited_ = per_second <= 0; }

Pacer::Pacer(Timeline timeline)
    : unlimited_(false), timeline_(std::move(timeline)), start_(Clock::now()), last_wake_(start_) {}

std::uint64_t Pacer::due(std::uint64_t done) {
  const auto now = Clock::now();
  const double elapsed_ms = std::chrono::duration<double, std::milli>(now - start_).count();
  double target = timeline_.index_at(elapsed_ms);
  const double done_ms = timeline_.offset(done);
  if (elapsed_ms - done_ms > kMaxLagSeconds * 1000.0) {
    // Forget the debt beyond kMaxLag: move the start so that we are exactly that far behind.
    start_ = now - seconds(done_ms / 1000.0 + kMaxLagSeconds);
    target = timeline_.index_at(done_ms + kMaxLagSeconds * 1000.0);
  }
  const double whole = std::floor(target);
  return whole > static_cast<double>(done) ? static_cast<std::uint64_t>(whole) - done : 0;
}

std::uint64_t Pacer::next(std::uint64_t done, std::uint64_t cap, Clock::time_point limit) {
  if (unlimited_) return cap;
  if (!behind_) {
    const auto wake = std::max(last_wake_ + kTick, start_ + seconds(timeline_.offset(done + 1) / 1000.0));
    sleep_until_or_stop(std::min(wake, limit));
    last_wake_ = Clock::now();
  }
  const std::uint64_t n = due(done);
  behind_ = n > cap;
  return std::min(n, cap);
}

}  // namespace orderpulse::sim
