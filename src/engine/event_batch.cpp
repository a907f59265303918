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
