#pragma once
// Where the engine's results go: final windows, the drop ledger, per-batch progress. The engine
// calls sinks on its own thread; a sink on another thread (the WebSocket feed) must copy what it
// needs and post it, never hold engine state.

#include <cstdint>
#include <string_view>

#include "orderpulse/engine/event_batch.h"
#include "orderpulse/engine/window_result.h"
#include "orderpulse/event/event.h"
#include "orderpulse/operators/alert.h"

namespace orderpulse {

struct EngineStats;

// A record that was not accepted. Views are valid only during the call.
struct DropView {
  DropReason reason;
  const RecordOrigin* origin;
  std::uint64_t position;
  std::string_view raw;
};

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void on_drop(const DropView&) {}
  virtual void on_window(const WindowResult&) {}
  // Data rules' alerts in event-time order, after the batch's windows; health rules' as judged.
  virtual void on_alert(const Alert&) {}
  // After every micro-batch, once its drops and windows were delivered.
  virtual void on_batch_end(const EngineStats&) {}
};

}  // namespace orderpulse
