#pragma once
// What a checkpoint holds besides engine state, and the body layout: the settings that shape
// results, every replayable source's position, how far the result files had been written, then the
// engine snapshot. Restoring all of it and replaying the sources from their positions reproduces
// the output an uninterrupted run would have written. Plain data; built on the engine thread and
// encoded on the checkpoint writer thread.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "orderpulse/engine/engine.h"
#include "orderpulse/engine/event_batch.h"
#include "orderpulse/sink/result_files.h"
#include "orderpulse/state/codec.h"

namespace orderpulse {

using Settings = std::vector<std::pair<std::string, std::string>>;

struct SourceCheckpoint {
  std::string name;  // the followed path
  SourcePosition position;
};

struct CheckpointMeta {
  Settings settings;
  std::vector<SourceCheckpoint> sources;
  OutputMarks outputs;
  std::uint64_t catalog_fingerprint = 0;  // 0 = no catalog
};

struct CheckpointJob {
  std::uint64_t batch_id = 0;
  CheckpointMeta meta;
  EngineSnapshot engine;
  std::vector<int> sync_fds;         // result files, made durable before the checkpoint is
  std::uint64_t socket_records = 0;  // records from non-replayable sources processed so far
  double snapshot_seconds = 0;       // engine-thread time to build the job
};

void encode_meta(const CheckpointMeta& meta, Encoder& out);
CheckpointMeta decode_meta(Decoder& in);

// "key (checkpoint: A, now: B)" for each setting that differs; empty when they agree.
std::vector<std::string> differing_settings(const Settings& saved, const Settings& now);

}  // namespace orderpulse
