// The simulator's timed runs (`generate --to ... --rate R --duration D`), driven by a clock of the
// test's own: exactly R x D records whenever the sender keeps up, however the wake-ups and the
// sends fall around the deadline.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "pacer.h"

namespace orderpulse::sim {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Time moves only when the pacer sleeps (it wakes `oversleep` late, as a loaded machine does) and
// when a burst is sent (`send_cost` per burst).
class FakeClock final : public PaceClock {
 public:
  Clock::time_point now() override { return t_; }
  void sleep_until(Clock::time_point t) override {
    if (t > t_) t_ = t + oversleep;
  }
  void advance(Clock::duration d) { t_ += d; }

  Clock::duration oversleep{};

 private:
  Clock::time_point t_{};
};

struct TimedRun {
  std::uint64_t sent = 0;
  Clock::time_point end;
};

// `generate --rate rate --duration duration_ms`, as live.cpp sets it up.
TimedRun timed_run(double rate, std::int64_t duration_ms, Clock::duration oversleep, Clock::duration send_cost,
              std::uint64_t max_burst = 8192) {
  FakeClock clock;
  clock.oversleep = oversleep;
  const Timeline timeline(rate, {});
  Pacer pacer(timeline, clock);
  const Clock::time_point deadline = pacer.start() + milliseconds(duration_ms);
  const auto limit = static_cast<std::uint64_t>(timeline.index_at(static_cast<double>(duration_ms)));
  TimedRun run;
  run.sent = send_paced(pacer, limit, deadline, max_burst, [&](std::uint64_t, std::uint64_t) {
    clock.advance(send_cost);
    return true;
  });
  run.end = clock.now();
  return run;
}

TEST(Pacer, ATimedRunSendsRateTimesDurationWhereverTheDeadlineFalls) {
  // A round woken just short of the deadline and ending just after it once stopped the run one
  // record short (or more, when the wake-up came later still).
  for (const double rate : {400.0, 1000.0, 3000.0}) {
    for (const auto oversleep : {microseconds(0), microseconds(300), microseconds(2500), microseconds(7000)}) {
      for (const auto send_cost : {microseconds(0), microseconds(100), microseconds(900), microseconds(3000)}) {
        const TimedRun run = timed_run(rate, 1000, oversleep, send_cost);
        EXPECT_EQ(run.sent, static_cast<std::uint64_t>(rate))
            << "rate " << rate << ", wake-ups " << oversleep.count() << " us late, sends of " << send_cost.count() << " us";
      }
    }
  }
}

TEST(Pacer, ASenderThatCannotKeepUpStopsAtTheDeadline) {
  // Each burst of at most 100 records takes 200 ms: the run falls behind (the pacer forgives a lag
  // beyond a second) and must still end one round after the deadline, short of rate x duration.
  const TimedRun run = timed_run(10'000, 2000, microseconds(0), milliseconds(200), 100);
  EXPECT_LT(run.sent, 20'000u);
  EXPECT_GT(run.sent, 0u);
  EXPECT_LE(run.end, Clock::time_point{} + milliseconds(2000 + 200 + 200));
}

}  // namespace
}  // namespace orderpulse::sim
