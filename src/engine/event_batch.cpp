#include "orderpulse/engine/event_batch.h"

namespace orderpulse {

void EventBatch::clear() {
  arena_.clear();
  records_.clear();
  events_.clear();
  owned_.clear();
  pins_.clear();
  positions_.clear();
  parsed_ = false;
}

void EventBatch::add(std::string_view text, std::uint64_t position, const RecordOrigin* origin,
                     RecordFormat format, RecordFlag flag) {
  // Filled in place: a record built on the stack field by field and then copied was read back as
  // one 32-byte word from 8-byte stores, a store-forwarding stall that was half of this function.
  RawRecord& r = records_.emplace_back();
  r.offset = static_cast<std::uint32_t>(arena_.size());
  r.length = static_cast<std::uint32_t>(text.size());
  r.position = position;
  r.origin = origin;
  r.format = format;
  r.flag = flag;
  arena_.append(text);
  // One byte of separation keeps simdjson from reading the next record as part of this one.
  arena_.push_back('\n');
}

void EventBatch::note_position(const SourcePosition& p) {
  for (SourcePosition& held : positions_) {
    if (held.source_id == p.source_id) {
      held = p;
      return;
    }
  }
  positions_.push_back(p);
}

void EventBatch::seal() { arena_.append(kPadding, '\0'); }

}  // namespace orderpulse
