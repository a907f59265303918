#include "orderpulse/engine/batch_builder.h"

namespace orderpulse {

BatchBuilder::BatchBuilder(std::size_t max_records)
    : max_records_(max_records), current_(std::make_unique<EventBatch>()) {}

std::unique_ptr<EventBatch> BatchBuilder::take(Clock::time_point deadline, std::unique_ptr<EventBatch> empty) {
  {
    std::unique_lock lock(mutex_);
    ready_.wait_until(lock, deadline, [&] { return closed_ || current_->size() >= max_records_; });
    empty->clear();
    std::swap(current_, empty);
  }
  space_.notify_all();
  if (on_space_) on_space_();
  return empty;
}

bool BatchBuilder::wait_for_space(Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  space_.wait_until(lock, deadline, [&] { return closed_ || current_->size() < max_records_; });
  return !closed_ && current_->size() < max_records_;
}

std::size_t BatchBuilder::pending() const {
  std::lock_guard lock(mutex_);
  return current_->size();
}

bool BatchBuilder::full() const {
  std::lock_guard lock(mutex_);
  return current_->size() >= max_records_;
}

void BatchBuilder::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  ready_.notify_all();
  space_.notify_all();
}

bool BatchBuilder::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

}  // namespace orderpulse
