#pragma once
// A pipeline stage that fills and parses micro-batches on its own thread while the engine thread
// runs the operators on the previous one: parsing is about half the per-record work, so two cores
// nearly halve the wall time. Owns its thread, its parser and a small pool of batches that
// circulate between a free queue and a bounded full queue, so memory stays at a few batches.

#include <exception>
#include <functional>
#include <memory>
#include <thread>

#include "orderpulse/engine/bounded_queue.h"
#include "orderpulse/engine/event_batch.h"

namespace orderpulse {

class ParseStage {
 public:
  // Fills the given (cleared) batch, or swaps in another one; false at end of input. Runs on the
  // stage's thread. Empty batches are passed on too: the engine uses them as ticks.
  using Fill = std::function<bool(std::unique_ptr<EventBatch>&)>;

  explicit ParseStage(Fill fill, std::size_t depth = 4);
  ~ParseStage();
  ParseStage(const ParseStage&) = delete;
  ParseStage& operator=(const ParseStage&) = delete;

  // Engine thread: the next parsed batch, or null at end of input. Rethrows a failure of fill.
  std::unique_ptr<EventBatch> next();
  void recycle(std::unique_ptr<EventBatch> batch);

 private:
  void run();

  Fill fill_;
  BoundedQueue<std::unique_ptr<EventBatch>> free_;
  BoundedQueue<std::unique_ptr<EventBatch>> full_;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace orderpulse
