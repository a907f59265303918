#pragma once
// The checkpoint writer: a thread of its own that encodes a snapshot the engine handed over,
// makes the result files durable, then writes the checkpoint file (CheckpointStore), so the
// engine keeps processing batches meanwhile. One checkpoint is in flight at a time: a request
// while the writer is busy is skipped and counted, never queued behind it. Failures (a full disk,
// a directory made read-only) are logged once per distinct cause and reported; the server carries
// on and the previous checkpoints stay valid.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "orderpulse/checkpoint/checkpoint.h"
#include "orderpulse/checkpoint/checkpoint_store.h"

namespace orderpulse {

struct CheckpointDone {
  std::uint64_t batch_id = 0;
  std::uint64_t bytes = 0;
  double seconds = 0;           // encode + fsync of results + write, on the writer thread
  double snapshot_seconds = 0;  // what the engine thread spent
  std::uint64_t socket_records = 0;
  std::vector<SourcePosition> positions;  // what the checkpoint covers (Kafka commits these)
};

class Checkpointer {
 public:
  // Both callbacks run on the writer thread.
  Checkpointer(CheckpointStore& store, std::function<void(const CheckpointDone&)> on_done,
               std::function<void(const std::string&)> on_failure);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  bool busy() const;
  // Engine thread. False when the previous checkpoint is still being written (the job is dropped).
  bool submit(CheckpointJob&& job);
  // Blocks until nothing is in flight; true when the last checkpoint written succeeded.
  bool wait_idle();

 private:
  void run();
  void write(CheckpointJob& job);

  CheckpointStore& store_;
  std::function<void(const CheckpointDone&)> on_done_;
  std::function<void(const std::string&)> on_failure_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<CheckpointJob> job_;
  bool in_flight_ = false;
  bool stop_ = false;
  bool last_ok_ = true;
  std::string last_error_;  // writer thread only: log a repeated failure once
  std::thread thread_;
};

}  // namespace orderpulse
