#pragma once
// The run summary (summary.json): record accounting by reason, windows, event-time range and
// speed. One builder so batch mode and the server report the same fields.

#include <string>

#include <nlohmann/json.hpp>

#include "orderpulse/engine/engine.h"

namespace orderpulse {

struct RunInfo {
  double wall_seconds = 0;
  std::uint64_t blank_lines = 0;
  std::uint64_t bytes_read = 0;
};

nlohmann::ordered_json make_summary(const Engine& engine, const RunInfo& run);
// Writes to path via a temporary file and rename; throws std::runtime_error on failure.
void write_summary(const std::string& path, const nlohmann::ordered_json& summary);

}  // namespace orderpulse
