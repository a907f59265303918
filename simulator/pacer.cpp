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

PaceClock& real_clock() {
  class Real final : public PaceClock {
   public:
    Clock::time_point now() override { return Clock::now(); }
    void sleep_until(Clock::time_point t) override { sleep_until_or_stop(t); }
  };
  static Real clock;
  return clock;
}

Pacer::Pacer(double per_second, PaceClock& clock) : Pacer(Timeline(std::max(per_second, 1e-300), {}), clock) {
  unlimited_ = per_second <= 0;
}

Pacer::Pacer(Timeline timeline, PaceClock& clock)
    : clock_(clock), unlimited_(false), timeline_(std::move(timeline)), start_(clock.now()), last_wake_(start_) {}

std::uint64_t Pacer::due(std::uint64_t done) {
  const auto now = clock_.now();
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
    clock_.sleep_until(std::min(wake, limit));
    last_wake_ = clock_.now();
  }
  const std::uint64_t n = due(done);
  behind_ = n > cap;
  return std::min(n, cap);
}

std::uint64_t send_paced(Pacer& pacer, std::uint64_t limit, Clock::time_point deadline,
                         std::uint64_t max_burst, const std::function<bool(std::uint64_t done, std::uint64_t n)>& send) {
  std::uint64_t done = 0;
  while (done < limit) {
    const bool last_round = pacer.now() >= deadline;
    const std::uint64_t n = pacer.next(done, std::min(limit - done, max_burst), deadline);
    if (n > 0) {
      const bool sent = send(done, n);
      done += n;
      if (!sent) break;
    }
    if (stop_requested() || last_round) break;
  }
  return done;
}

}  // namespace orderpulse::sim
