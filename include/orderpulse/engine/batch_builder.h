#pragma once
// The next micro-batch of the live server, filled by the network thread (and the FollowSource
// thread when files are followed) and taken by the engine thread every trigger interval or as soon
// as it holds max_batch_size records. A mutex guards it, held once per socket read (a chunk of many
// records), never per record. When the batch is full the network side stops reading its sockets
// until the engine takes the batch: TCP backpressure instead of an unbounded queue.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

#include "orderpulse/engine/event_batch.h"

namespace orderpulse {

class BatchBuilder {
 public:
  using Clock = std::chrono::steady_clock;

  explicit BatchBuilder(std::size_t max_records);

  // Network thread: runs fill(batch) under the lock. Returns false when the batch is now full:
  // the caller should pause reading until on_space fires.
  template <typename Fill>
  bool append(Fill&& fill) {
    std::lock_guard lock(mutex_);
    fill(*current_);
    if (current_->size() >= max_records_) {
      ready_.notify_one();
      return false;
    }
    return true;
  }

  // Engine thread: waits until the batch is full, the deadline passes or close() is called, then
  // returns the filled batch and puts `empty` in its place. Calls on_space afterwards.
  std::unique_ptr<EventBatch> take(Clock::time_point deadline, std::unique_ptr<EventBatch> empty);

  // Called on the engine thread after each take, outside the lock (the server posts a resume of
  // paused sockets to the network thread).
  void set_on_space(std::function<void()> on_space) { on_space_ = std::move(on_space); }

  // For producers with a thread of their own (file sources): blocks until the batch has room again,
  // the deadline passes or close() is called. True when there is room (and not closed). Waiting
  // here instead of reading on is what keeps such a producer from running ahead of the engine.
  bool wait_for_space(Clock::time_point deadline);

  std::size_t max_records() const { return max_records_; }

  std::size_t pending() const;
  bool full() const;
  void close();
  bool closed() const;

 private:
  const std::size_t max_records_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;  // take() and close() wake wait_for_space
  std::unique_ptr<EventBatch> current_;
  std::function<void()> on_space_;
  bool closed_ = false;
};

}  // namespace orderpulse
