#include "live.h"

#include <chrono>
#include <limits>
#include <memory>

#include "pacer.h"

namespace orderpulse::sim {
namespace {

constexpr std::uint64_t kMaxBurst = 8192;  // records per send(2) when the rate is unreachable

TimestampMs wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SendResult run_generate_live(GenerateOptions o, const LiveOptions& live) {
  o.live = !live.file_times;
  o.format = OutputFormat::ndjson;
  const World world = prepare_world(o);
  install_stop_handlers();
  const std::unique_ptr<LineSender> sender = make_sender(live.to, live.connect_timeout, live.kafka);
  if (!sender->connect()) {  // stopped while waiting for the server
    sender->close();
    return {sender->summary(",\"generated\":" + GenerateSummary{}.to_json()), sender->losses()};
  }
  if (!live.file_times) {
    o.start_time = wall_clock_ms();
    // Scenarios count from the first whole minute of sending, so that bursts and drops cover whole
    // minutes and a whale's 10 s (at a whole or half minute) stay inside one customer window.
    constexpr DurationMs kMinute = 60'000;
    const DurationMs to_minute = (kMinute - o.start_time % kMinute) % kMinute;
    for (Scenario& s : o.scenarios) s.at += to_minute;
  }
  std::string buf;
  StreamGenerator gen(o, world, buf);
  const Timeline timeline(o.rate, o.scenarios);
  std::uint64_t limit = live.count.value_or(std::numeric_limits<std::uint64_t>::max());
  Pacer pacer(timeline);
  auto deadline = Clock::time_point::max();
  if (live.duration) {
    // Timed from the pacer's own start: a deadline taken even a little earlier falls before the
    // last planned record is due, and a wake-up in between sent one record short.
    deadline = pacer.start() + std::chrono::milliseconds(*live.duration);
    // Exactly rate x duration records when the server keeps up.
    const double planned = timeline.index_at(static_cast<double>(*live.duration));
    if (planned < static_cast<double>(limit)) limit = static_cast<std::uint64_t>(planned);
  }
  send_paced(pacer, limit, deadline, kMaxBurst, [&](std::uint64_t done, std::uint64_t n) {
    // Base event time of the whole burst: now (file times: each record's own, as in a file).
    // Orders then move back by up to --disorder.
    buf.clear();
    const TimestampMs now = wall_clock_ms();
    for (std::uint64_t i = done; i < done + n; ++i) {
      // File times: the same expression as run_generate(), so the same records.
      gen.next(live.file_times ? o.start_time + static_cast<TimestampMs>(timeline.offset(i)) : now);
    }
    // A stop request lets the burst (a few ms of records) go out whole, so the generated counts
    // match what was sent; a sender that stopped reconnecting ends the run.
    return sender->send(buf, LineSender::OnStop::finish_all) >= buf.size();
  });
  sender->close();
  gen.finish();
  return {sender->summary(",\"generated\":" + gen.summary().to_json()), sender->losses()};
}

}  // namespace orderpulse::sim
