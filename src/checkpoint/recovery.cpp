#include "orderpulse/checkpoint/recovery.h"

#include <chrono>

#include <spdlog/spdlog.h>

namespace orderpulse {

Recovered recover(CheckpointStore& store, const Settings& settings, const std::function<std::unique_ptr<Engine>()>& make_engine) {
  const auto start = std::chrono::steady_clock::now();
  Recovered out;
  for (const auto& path : store.list()) {
    CheckpointStore::Loaded loaded;
    try {
      loaded = CheckpointStore::read(path);
    } catch (const CheckpointError& e) {
      spdlog::error("ignoring damaged checkpoint: {}; trying an older one", e.what());
      CheckpointStore::set_aside(path);
      continue;
    }
    Decoder in(loaded.body());
    std::unique_ptr<Engine> engine = make_engine();
    CheckpointMeta meta;
    try {
      meta = decode_meta(in);
      if (auto diffs = differing_settings(meta.settings, settings); !diffs.empty()) {
        std::string list;
        for (const auto& d : diffs) list += (list.empty() ? "" : "; ") + d;
        throw ConfigError("checkpoint " + path.string() + " was made with different settings: " + list +
                          "; restart with --reset-state to discard the checkpoints");
      }
      engine->decode(in);
      if (!in.done()) throw CodecError("unexpected bytes after the engine state");
    } catch (const CodecError& e) {
      spdlog::error("ignoring unreadable checkpoint {}: {}; trying an older one", path.string(), e.what());
      CheckpointStore::set_aside(path);
      continue;
    }
    out.engine = std::move(engine);
    out.meta = std::move(meta);
    out.batch_id = loaded.batch_id;
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("restored checkpoint {} (batch {}, {} records read before) in {:.3f} s", path.filename().string(),
                 loaded.batch_id, out.engine->stats().read, out.seconds);
    return out;
  }
  out.engine = make_engine();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace orderpulse
