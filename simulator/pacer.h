#pragma once
// Wall-clock pacing and stop requests for the network commands (`generate --to`, `replay`).
// SIGINT/SIGTERM only set a flag that the send loops poll; sleeps wake up early for it.

#include <chrono>
#include <cstdint>
#include <functional>

#include "scenarios.h"

namespace orderpulse::sim {

using Clock = std::chrono::steady_clock;

// After this, the first SIGINT or SIGTERM sets the stop flag instead of killing the process;
// a second one kills it as usual (SA_RESETHAND), e.g. when a server that stopped reading keeps
// the last line from going out.
void install_stop_handlers();
bool stop_requested();

// Sleeps until `t`, waking at least every 50ms to return early on a stop request.
void sleep_until_or_stop(Clock::time_point t);

// Where pacing takes its time from: the steady clock and real sleeps, or a test's own clock, so
// that the end of a timed run can be checked without waiting on the wall clock.
class PaceClock {
 public:
  virtual ~PaceClock() = default;
  virtual Clock::time_point now() = 0;
  // Returns at `t` or later, or earlier on a stop request.
  virtual void sleep_until(Clock::time_point t) = 0;
};

// Clock::now() and sleep_until_or_stop().
PaceClock& real_clock();

// Spreads units (records, lines) evenly over wall time at `per_second`, in bursts at least
// kTick apart so a fast rate never busy-spins; a rate beyond what the caller can send just
// means back-to-back bursts of `cap`. It falls behind by at most kMaxLag: a longer stall (e.g.
// the server pushing back) is not made up afterwards.
class Pacer {
 public:
  static constexpr Clock::duration kTick = std::chrono::milliseconds(5);
  static constexpr double kMaxLagSeconds = 1.0;

  // `per_second` <= 0: no limit, next() always returns `cap` at once.
  explicit Pacer(double per_second, PaceClock& clock = real_clock());
  // Units fall due as the timeline places them (bursts and drops of `generate --to`).
  explicit Pacer(Timeline timeline, PaceClock& clock = real_clock());

  // The size of the next burst, at most `cap`, `done` units having gone since the start.
  // Unless the previous burst was cut to its cap (we are behind), first sleeps until the next
  // unit is due and at least kTick after the previous wake-up. 0 when woken by `limit` or a
  // stop request before anything was due.
  std::uint64_t next(std::uint64_t done, std::uint64_t cap, Clock::time_point limit = Clock::time_point::max());
  // Where the timeline's time 0 is (later moved only when a lag beyond kMaxLagSeconds is forgiven).
  Clock::time_point start() const { return start_; }
  // The time on the pacer's clock.
  Clock::time_point now() const { return clock_.now(); }

 private:
  std::uint64_t due(std::uint64_t done);

  PaceClock& clock_;
  bool unlimited_;
  Timeline timeline_;
  Clock::time_point start_;
  Clock::time_point last_wake_;
  bool behind_ = false;
};

// Hands `limit` units to `send(done, n)` in bursts of at most `max_burst`, paced by `pacer`, until
// `deadline`, a stop request, or `send` returning false. Past the deadline one last round sends
// what is due by then: the last unit planned for a run of D is due at D itself, and a round woken
// just short of the deadline may end just after it. Returns how many units went to `send`.
std::uint64_t send_paced(Pacer& pacer, std::uint64_t limit, Clock::time_point deadline,
                         std::uint64_t max_burst, const std::function<bool(std::uint64_t done, std::uint64_t n)>& send);

}  // namespace orderpulse::sim
