#pragma once
// Start-up from a checkpoint directory: find the newest checkpoint that reads back whole, check it
// was made under the same result-shaping settings, and restore it into a fresh engine. Damaged
// files are reported and set aside, and the next older one is tried, so a bad file never causes a
// crash loop. Runs once, on the main thread, before any source starts.

#include <functional>
#include <memory>
#include <optional>

#include "orderpulse/checkpoint/checkpoint.h"
#include "orderpulse/checkpoint/checkpoint_store.h"
#include "orderpulse/engine/engine.h"

namespace orderpulse {

struct Recovered {
  std::unique_ptr<Engine> engine;      // restored, or fresh when there was nothing to restore
  std::optional<CheckpointMeta> meta;  // empty when starting fresh
  std::uint64_t batch_id = 0;
  double seconds = 0;                  // time spent reading and restoring
};

// `settings` are the current result-shaping settings (Config::result_settings() plus anything the
// caller adds, such as the followed files). Throws ConfigError naming the differing settings when
// the newest good checkpoint was made under others.
Recovered recover(CheckpointStore& store, const Settings& settings, const std::function<std::unique_ptr<Engine>()>& make_engine);

}  // namespace orderpulse
