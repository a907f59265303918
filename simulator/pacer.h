#pragma once
// Wall-clock pacing and stop requests for the network commands (`generate --to`, `replay`).
// SIGINT/SIGTERM only set a flag that the send loops poll; sleeps wake up early for it.

#include <chrono>
#include <cstdint>

namespace orderpulse::sim {

using Clock = std::chrono::steady_clock;

// After this, the first SIGINT or SIGTERM sets the stop flag instead of killing the process;
// a second one kills it as usual (SA_RESETHAND), e.g. when a server that stopped reading keeps
// the last line from going out.
void install_stop_handlers();
bool stop_requested();

// Sleeps until `t`, waking at least every 50ms to return early on a stop request.
void sleep_until_or_stop(Clock::time_point t);

// Spreads units (records, lines) evenly over wall time at `per_second`, in bursts at least
// kTick apart so a fast rate never busy-spins. It falls behind by at most kMaxLag: a longer
// stall (e.g. the server pushing back) is not made up afterwards by a long burst.
class Pacer {
 public:
  static constexpr Clock::duration kTick = std::chrono::milliseconds(5);
  static constexpr double kMaxLagSeconds = 1.0;

  // `per_second` <= 0: no limit, every call to due() says "as many as you like".
  explicit Pacer(double per_second);

  // How many more units may go now, `done` having gone since the start.
  std::uint64_t due(std::uint64_t done);
  // Sleeps until the next unit is due (but at least kTick after the previous wake-up), or
  // until `limit`, or a stop request. Only call it when due(done) was 0.
  void wait(std::uint64_t done, Clock::time_point limit = Clock::time_point::max());

 private:
  double rate_;
  Clock::time_point start_;
  Clock::time_point last_wake_;
};

}  // namespace orderpulse::sim
