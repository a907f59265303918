#include "orderpulse/engine/parse_stage.h"

#include "orderpulse/event/parser.h"

namespace orderpulse {

ParseStage::ParseStage(Fill fill, std::size_t depth) : fill_(std::move(fill)), free_(depth), full_(depth) {
  for (std::size_t i = 0; i < depth; ++i) free_.push(std::make_unique<EventBatch>());
  thread_ = std::thread([this] { run(); });
}

ParseStage::~ParseStage() {
  free_.close();
  full_.close();
  thread_.join();
}

std::unique_ptr<EventBatch> ParseStage::next() {
  auto batch = full_.pop();
  if (!batch || !*batch) {
    if (error_) std::rethrow_exception(error_);
    return nullptr;
  }
  return std::move(*batch);
}

void ParseStage::recycle(std::unique_ptr<EventBatch> batch) { free_.push(std::move(batch)); }

void ParseStage::run() {
  try {
    RecordParser parser;
    while (auto batch = free_.pop()) {
      (*batch)->clear();
      if (!fill_(*batch)) break;
      (*batch)->seal();
      parser.parse(**batch);
      if (!full_.push(std::move(*batch))) return;
    }
  } catch (...) {
    error_ = std::current_exception();
  }
  full_.push(nullptr);  // end of input (or failure) marker
}

}  // namespace orderpulse
