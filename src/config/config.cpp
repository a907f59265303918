#include "orderpulse/config/config.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace orderpulse {
namespace {

struct Unit {
  std::string_view suffix;
  DurationMs ms;
};
constexpr Unit kUnits[] = {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};

std::string key_path(const std::string& origin, const std::string& key) { return origin + ": '" + key + "'"; }

DurationMs duration_value(const nlohmann::json& v, const std::string& where) {
  if (!v.is_string()) throw ConfigError(where + " must be a duration string such as \"30s\"");
  try {
    return parse_duration(v.get<std::string>());
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": " + e.what());
  }
}

std::size_t count_value(const nlohmann::json& v, const std::string& where, std::size_t lo, std::size_t hi) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < static_cast<std::int64_t>(lo) ||
      v.get<std::int64_t>() > static_cast<std::int64_t>(hi))
    throw ConfigError(where + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  return v.get<std::size_t>();
}

}  // namespace

DurationMs parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string_view unit = text.substr(digits);
  DurationMs value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (digits == 0 || ec != std::errc() || value > 1'000'000'000'000LL) {
    throw ConfigError("bad duration '" + std::string(text) + "' (expected e.g. 500ms, 30s, 10m, 1h, 1d)");
  }
  for (const Unit& u : kUnits) {
    if (u.suffix != unit) continue;
    // Event times reach about 10^15 ms (epoch milliseconds of up to 15 digits): no duration
    // needs to be longer, and none may overflow the arithmetic done with it.
    if (value > kMaxDuration / u.ms)
      throw ConfigError("duration '" + std::string(text) + "' is too long (at most 10^15 ms, about 31,000 years)");
    return value * u.ms;
  }
  throw ConfigError("bad duration '" + std::string(text) + "' (expected e.g. 500ms, 30s, 10m, 1h, 1d)");
}

std::string format_duration(DurationMs ms) {
  if (ms == 0) return "0s";
  for (const Unit& u : kUnits)
    if (ms % u.ms == 0) return std::to_string(ms / u.ms) + std::string(u.suffix);
  return std::to_string(ms) + "ms";
}

WindowSpec make_window_spec(DurationMs size, DurationMs slide) {
  return WindowSpec{size, slide, format_duration(size) + "/" + format_duration(slide)};
}

Config Config::defaults() {
  Config c;
  c.windows = {make_window_spec(60'000, 60'000), make_window_spec(600'000, 60'000)};
  return c;
}

std::vector<std::pair<std::string, std::string>> Config::result_settings() const {
  std::string specs;
  for (const auto& w : windows) specs += (specs.empty() ? "" : ",") + w.name;
  return {{"watermark_delay", format_duration(watermark_delay)},
          {"dedup_horizon", format_duration(effective_dedup_horizon())},
          {"windows", specs},
          {"top_n", std::to_string(top_n)},
          {"max_line_bytes", std::to_string(max_line_bytes)},
          {"alerts", alerts.canonical_data_rules()}};
}

DurationMs Config::effective_dedup_horizon() const {
  if (dedup_horizon > 0) return dedup_horizon;
  DurationMs largest = 0;
  for (const auto& w : windows) largest = std::max(largest, w.size);
  return largest;
}

DurationMs Config::pane_size() const {
  DurationMs g = 0;
  for (const auto& w : windows) g = std::gcd(std::gcd(g, w.size), w.slide);
  return g;
}

Config Config::parse_json(std::string_view text, const std::string& origin) {
  // nlohmann's lexer reads a NUL byte as the end of the input, which would hide whatever follows.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    throw ConfigError(origin + ": invalid JSON: a NUL byte at offset " + std::to_string(nul));
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number out of range
    std::string what = e.what();
    // nlohmann's messages start with "[json.exception.parse_error.101] "; keep the readable part.
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    throw ConfigError(origin + ": invalid JSON: " + what);
  }
  if (!doc.is_object()) throw ConfigError(origin + ": the config must be a JSON object");
  Config c = defaults();
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    const std::string where = key_path(origin, key);
    if (key == "watermark_delay") {
      c.watermark_delay = duration_value(v, where);
    } else if (key == "dedup_horizon") {
      c.dedup_horizon = duration_value(v, where);
    } else if (key == "trigger_interval") {
      c.trigger_interval = duration_value(v, where);
      if (c.trigger_interval <= 0) throw ConfigError(where + " must be positive");
    } else if (key == "checkpoint_interval") {
      c.checkpoint_interval = duration_value(v, where);
      if (c.checkpoint_interval <= 0) throw ConfigError(where + " must be positive");
    } else if (key == "kafka") {
      if (!v.is_object()) throw ConfigError(where + " must be an object of librdkafka properties");
      for (auto p = v.begin(); p != v.end(); ++p) {
        const nlohmann::json& pv = p.value();
        if (pv.is_string()) c.kafka.emplace_back(p.key(), pv.get<std::string>());
        else if (pv.is_number_integer() || pv.is_boolean()) c.kafka.emplace_back(p.key(), pv.dump());
        else throw ConfigError(origin + ": 'kafka." + p.key() + "' must be a string, integer or boolean");
      }
    } else if (key == "alerts") {
      parse_alert_config(v, origin, c.alerts);
    } else if (key == "idle_timeout") {
      c.idle_timeout = duration_value(v, where);
      if (c.idle_timeout < 0) throw ConfigError(where + " must not be negative");
    } else if (key == "max_line_bytes") {
      c.max_line_bytes = count_value(v, where, 64, std::size_t{1} << 30);
    } else if (key == "max_batch_size") {
      c.max_batch_size = count_value(v, where, 1, 10'000'000);
    } else if (key == "top_n") {
      c.top_n = count_value(v, where, 1, 1000);
    } else if (key == "windows") {
      if (!v.is_array() || v.empty()) throw ConfigError(where + " must be a non-empty array of {\"size\",\"slide\"}");
      c.windows.clear();
      for (std::size_t i = 0; i < v.size(); ++i) {
        const std::string item = origin + ": 'windows[" + std::to_string(i) + "]";
        if (!v[i].is_object()) throw ConfigError(item + "' must be an object {\"size\":\"10m\",\"slide\":\"1m\"}");
        DurationMs size = 0, slide = 0;
        for (auto f = v[i].begin(); f != v[i].end(); ++f) {
          if (f.key() == "size") size = duration_value(f.value(), item + ".size'");
          else if (f.key() == "slide") slide = duration_value(f.value(), item + ".slide'");
          else throw ConfigError(item + "." + f.key() + "': unknown key (known: size, slide)");
        }
        if (size <= 0) throw ConfigError(item + ".size' is required and must be positive");
        if (slide == 0) slide = size;  // tumbling
        if (slide < 0 || slide > size) throw ConfigError(item + ".slide' must be positive and at most the size");
        WindowSpec spec = make_window_spec(size, slide);
        if (const std::int64_t per_record = (size + slide - 1) / slide; per_record > kMaxWindowsPerRecord)
          throw ConfigError(item + "' (" + spec.name + ") puts each record in " + std::to_string(per_record) +
                            " windows; at most " + std::to_string(kMaxWindowsPerRecord) + " (size / slide)");
        c.windows.push_back(std::move(spec));
        for (std::size_t j = 0; j + 1 < c.windows.size(); ++j)
          if (c.windows[j].name == c.windows.back().name) throw ConfigError(item + "' repeats window " + c.windows[j].name);
      }
      const DurationMs pane = c.pane_size();
      for (const WindowSpec& w : c.windows)
        if (w.size / pane > kMaxPanesPerWindow)
          throw ConfigError(where + ": panes would be " + format_duration(pane) +
                            " (the greatest common divisor of every size and slide), so " + w.name + " spans " +
                            std::to_string(w.size / pane) + " of them; at most " + std::to_string(kMaxPanesPerWindow) +
                            ": choose sizes and slides with a larger common divisor");
    } else {
      throw ConfigError(origin + ": unknown key '" + key +
                        "' (known: watermark_delay, dedup_horizon, windows, max_line_bytes, max_batch_size, "
                        "trigger_interval, top_n, checkpoint_interval, idle_timeout, kafka, alerts)");
    }
  }
  return c;
}

Config Config::load_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw ConfigError("cannot read config file " + path + ": it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read config file " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_json(ss.str(), path);
}

}  // namespace orderpulse
