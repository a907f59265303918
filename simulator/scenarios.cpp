#include "scenarios.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "errors.h"
#include "output.h"

namespace orderpulse::sim {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = text.find(sep, begin);
    parts.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return parts;
    begin = end + 1;
  }
}

double parse_factor(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v > 0.0 && v <= 1000.0))
    throw UsageError(option + ": the rate factor must be a number above 0 and at most 1000, got '" + text + "'");
  return v;
}

}  // namespace

std::string_view to_string(ScenarioKind k) {
  switch (k) {
    case ScenarioKind::burst: return "burst";
    case ScenarioKind::drop: return "drop";
    case ScenarioKind::whale: return "whale";
    case ScenarioKind::sold_out: return "sold_out";
    case ScenarioKind::restock: return "restock";
  }
  return "?";
}

Scenario parse_scenario(ScenarioKind kind, const std::string& option, const std::string& text) {
  const std::vector<std::string> parts = split(text, ':');
  Scenario s;
  s.kind = kind;
  s.at = parse_duration(option, parts[0]);
  switch (kind) {
    case ScenarioKind::burst:
    case ScenarioKind::drop:
      if (parts.size() > 3) throw UsageError(option + " takes AT[:LENGTH[:FACTOR]], got '" + text + "'");
      s.length = parts.size() > 1 ? parse_duration(option, parts[1]) : 60'000;
      if (s.length <= 0) throw UsageError(option + ": LENGTH must be above 0");
      s.factor = parts.size() > 2 ? parse_factor(option, parts[2]) : kind == ScenarioKind::burst ? 5.0 : 0.1;
      if (kind == ScenarioKind::burst && s.factor <= 1.0) throw UsageError(option + ": a burst's FACTOR must be above 1");
      if (kind == ScenarioKind::drop && s.factor >= 1.0) throw UsageError(option + ": a drop's FACTOR must be below 1");
      break;
    case ScenarioKind::whale:
      if (parts.size() > 1) throw UsageError(option + " takes AT, got '" + text + "'");
      break;
    case ScenarioKind::sold_out:
    case ScenarioKind::restock:
      if (parts.size() > 2) throw UsageError(option + " takes AT[:PRODUCT_ID], got '" + text + "'");
      if (parts.size() > 1) {
        if (parts[1].empty()) throw UsageError(option + ": PRODUCT_ID is empty");
        s.product = parts[1];
      }
      break;
  }
  return s;
}

Timeline::Timeline(double rate, const std::vector<Scenario>& scenarios) {
  // Every moment a burst or drop starts or ends; between two of them the rate is constant.
  std::vector<double> cuts{0.0};
  for (const Scenario& s : scenarios) {
    if (s.kind != ScenarioKind::burst && s.kind != ScenarioKind::drop) continue;
    cuts.push_back(static_cast<double>(s.at));
    cuts.push_back(static_cast<double>(s.at + s.length));
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  double index = 0;
  for (std::size_t k = 0; k < cuts.size(); ++k) {
    if (cuts[k] < 0) continue;
    double factor = 1.0;
    for (const Scenario& s : scenarios)
      if ((s.kind == ScenarioKind::burst || s.kind == ScenarioKind::drop) && static_cast<double>(s.at) <= cuts[k] &&
          cuts[k] < static_cast<double>(s.at + s.length))
        factor *= s.factor;
    if (!segments_.empty()) index += (cuts[k] - segments_.back().from_ms) * segments_.back().per_second / 1000.0;
    segments_.push_back({cuts[k], index, rate * factor});
  }
}

const Timeline::Segment& Timeline::segment_for_index(double i) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), i, [](double v, const Segment& s) { return v < s.from_index; });
  return *std::prev(it);
}

const Timeline::Segment& Timeline::segment_for_offset(double ms) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), ms, [](double v, const Segment& s) { return v < s.from_ms; });
  return it == segments_.begin() ? segments_.front() : *std::prev(it);
}

double Timeline::offset(std::uint64_t i) const {
  const auto x = static_cast<double>(i);
  const Segment& s = segment_for_index(x);
  // Written as it always was for the first segment (i * 1000 / rate), so plain runs keep their
  // exact record times.
  return s.from_ms + (x - s.from_index) * 1000.0 / s.per_second;
}

double Timeline::index_at(double offset_ms) const {
  const Segment& s = segment_for_offset(offset_ms);
  return s.from_index + (offset_ms - s.from_ms) * s.per_second / 1000.0;
}

}  // namespace orderpulse::sim
