#include "orderpulse/checkpoint/checkpointer.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <spdlog/spdlog.h>

namespace orderpulse {

Checkpointer::Checkpointer(CheckpointStore& store, std::function<void(const CheckpointDone&)> on_done,
                           std::function<void(const std::string&)> on_failure)
    : store_(store), on_done_(std::move(on_done)), on_failure_(std::move(on_failure)), thread_([this] { run(); }) {}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool Checkpointer::busy() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

bool Checkpointer::submit(CheckpointJob&& job) {
  {
    std::lock_guard lock(mutex_);
    if (in_flight_) return false;
    job_.emplace(std::move(job));
    in_flight_ = true;
  }
  cv_.notify_all();
  return true;
}

bool Checkpointer::wait_idle() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return !in_flight_; });
  return last_ok_;
}

void Checkpointer::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || job_.has_value(); });
    if (!job_) return;  // stop_ and nothing left to write
    CheckpointJob job = std::move(*job_);
    job_.reset();
    lock.unlock();
    write(job);
    // The snapshot's shared state is released here, off the engine thread.
    job = CheckpointJob{};
    lock.lock();
    in_flight_ = false;
    cv_.notify_all();
  }
}

void Checkpointer::write(CheckpointJob& job) {
  const auto start = std::chrono::steady_clock::now();
  try {
    Encoder image;
    image.buffer().assign(CheckpointStore::kHeaderSize, '\0');
    encode_meta(job.meta, image);
    Engine::encode(job.engine, image);
    // The result lines this checkpoint vouches for must survive a power cut as well as it does.
    for (int fd : job.sync_fds)
      if (::fsync(fd) != 0) throw CheckpointError(std::string("fsync of a result file failed: ") + std::strerror(errno));
    const std::uint64_t bytes = store_.write(job.batch_id, image.buffer());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!last_error_.empty()) spdlog::info("checkpoints are being written again");
    last_error_.clear();
    {
      std::lock_guard lock(mutex_);
      last_ok_ = true;
    }
    spdlog::debug("checkpoint {}: {} bytes in {:.3f} s", job.batch_id, bytes, seconds);
    CheckpointDone done{job.batch_id, bytes, seconds, job.snapshot_seconds, job.socket_records, {}};
    for (const SourceCheckpoint& s : job.meta.sources) done.positions.push_back(s.position);
    on_done_(done);
  } catch (const std::exception& e) {
    if (e.what() != last_error_) spdlog::error("checkpoint {} failed: {}", job.batch_id, e.what());
    last_error_ = e.what();
    {
      std::lock_guard lock(mutex_);
      last_ok_ = false;
    }
    on_failure_(e.what());
  }
}

}  // namespace orderpulse
