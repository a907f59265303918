#pragma once
// Configuration: built-in defaults, optionally overridden by a JSON file. Unknown keys are
// rejected by name, durations are strings with a unit ("500ms", "30s", "10m", "1h", "1d").
// Loaded once at start; read-only afterwards.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "orderpulse/common/time.h"
#include "orderpulse/config/alert_config.h"

namespace orderpulse {

// A bad config or command line: reported as one line, exit code 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WindowSpec {
  DurationMs size = 0;
  DurationMs slide = 0;
  std::string name;  // "SIZE/SLIDE", e.g. "10m/1m"
};

struct Config {
  DurationMs watermark_delay = 30'000;
  DurationMs dedup_horizon = 0;  // 0 = the largest window size
  std::vector<WindowSpec> windows;
  std::size_t max_line_bytes = 1 << 20;
  std::size_t max_batch_size = 65'536;
  DurationMs trigger_interval = 100;
  std::size_t top_n = 10;
  DurationMs checkpoint_interval = 10'000;  // used when serve has a checkpoint directory
  // Live server: a source (Kafka partition, followed file, the socket) with nothing new for this
  // long stops holding the watermark back. 0 = never.
  DurationMs idle_timeout = 30'000;
  // librdkafka properties for the Kafka source ("kafka": {"security.protocol": "SASL_SSL", ...}),
  // passed through as given; the command line's brokers and group override theirs.
  std::vector<std::pair<std::string, std::string>> kafka;
  AlertConfig alerts;

  // Defaults: 1m tumbling (sales per minute) and 10m sliding every 1m.
  static Config defaults();
  // Throws ConfigError naming the file and the offending key.
  static Config load_file(const std::string& path);
  static Config parse_json(std::string_view text, const std::string& origin);

  DurationMs effective_dedup_horizon() const;
  // The pane length: the gcd of every window size and slide.
  DurationMs pane_size() const;
  // The settings that shape results, as (key, canonical value) in a fixed order. A checkpoint
  // records them and is not restored under different ones; trigger_interval and max_batch_size are
  // absent because results do not depend on batch boundaries.
  std::vector<std::pair<std::string, std::string>> result_settings() const;
};

// The longest duration a config may give: 10^15 ms, the reach of epoch-millisecond event times.
inline constexpr DurationMs kMaxDuration = 1'000'000'000'000'000;
// Bounds on the window specs. Each record updates one pane, but a sliding spec keeps size/slide
// windows open and the panes are the gcd of every size and slide: beyond these the state and the
// work per window grow without bound in practice (`10m` sliding by `10ms` took 12 GiB for 100k
// records), so such a config is refused rather than left to exhaust memory.
inline constexpr std::int64_t kMaxWindowsPerRecord = 10'000;  // size / slide, rounded up
inline constexpr std::int64_t kMaxPanesPerWindow = 100'000;   // size / pane

// "30s" -> 30000. Throws ConfigError on anything else.
DurationMs parse_duration(std::string_view text);
// 600000 -> "10m": the largest unit that divides exactly.
std::string format_duration(DurationMs ms);
WindowSpec make_window_spec(DurationMs size, DurationMs slide);

}  // namespace orderpulse
