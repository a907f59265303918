#pragma once
// A micro-batch: raw record texts copied from a source, then the events parsed from them.
// Owned and mutated by the engine thread only; sources fill it, the engine parses and processes it.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "orderpulse/common/huge_pages.h"
#include "orderpulse/event/event.h"

namespace orderpulse {

struct CsvSchema;

// Where records come from, for watermarks and the drop ledger. Owned by the source; outlives
// every batch that refers to it.
struct RecordOrigin {
  std::uint32_t source_id = 0;  // watermark source (a file set, the socket port, a partition)
  std::string source;           // "file", "socket", ...
  std::string location_key;     // how the ledger names the location: "file", "peer", ...
  std::string location;         // file path, peer address, Kafka topic
  std::int32_t partition = -1;  // Kafka: the ledger then names the partition and the offset (position)
};

// How to parse a record: NDJSON, or CSV with a header-derived column map (owned by the source).
struct RecordFormat {
  const CsvSchema* csv = nullptr;  // null = NDJSON
};

enum class RecordFlag : std::uint8_t { none, too_long, truncated };

// How far a replayable source has been read once this batch is processed: the byte offset just past
// its last record in the batch (blank lines and headers included), the line number there, and the
// identity of the file, so a restart can tell a rotated or truncated file from the same one.
struct SourcePosition {
  std::uint32_t source_id = 0;
  std::uint64_t offset = 0;
  std::uint64_t line = 1;  // 1-based number of the next line
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  bool operator==(const SourcePosition&) const = default;
};

struct RawRecord {
  std::uint32_t offset = 0;  // text position in the batch arena
  std::uint32_t length = 0;
  std::uint64_t position = 0;  // line number within its origin
  const RecordOrigin* origin = nullptr;
  RecordFormat format;
  RecordFlag flag = RecordFlag::none;
};

class EventBatch {
 public:
  // Bytes kept readable after the last record so simdjson can parse in place.
  static constexpr std::size_t kPadding = 64;

  void clear();
  // Inline: a source adds every record it reads. Filled in place: a record built on the stack field
  // by field and then copied was read back as one 32-byte word from 8-byte stores, a
  // store-forwarding stall that was half of this function.
  void add(std::string_view text, std::uint64_t position, const RecordOrigin* origin, RecordFormat format,
           RecordFlag flag = RecordFlag::none) {
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

  std::size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  std::size_t bytes() const { return arena_.size(); }

  const RawRecord& record(std::size_t i) const { return records_[i]; }
  std::string_view text(const RawRecord& r) const { return {arena_.data() + r.offset, r.length}; }
  // Readable bytes from the record start, padding included (call after seal()).
  std::size_t capacity(const RawRecord& r) const { return arena_.size() - r.offset; }

  // Records that `p.source_id` has been read up to `p` (replacing what this batch held for it).
  void note_position(const SourcePosition& p);
  const std::vector<SourcePosition>& positions() const { return positions_; }

  // Appends the padding; records must not be added afterwards until clear().
  void seal();

  // Keeps an origin alive while this batch refers to it (sources whose origins come and go, such as
  // socket connections, pin theirs once per batch).
  void pin(const std::shared_ptr<const RecordOrigin>& origin) {
    if (pins_.empty() || pins_.back() != origin) pins_.push_back(origin);
  }

  // Stable storage for strings that could not point into the arena (unescaped JSON strings,
  // unquoted CSV fields).
  std::string_view keep(std::string_view s) { return owned_.emplace_back(s); }

  // Set by RecordParser::parse; the engine parses a batch that is not parsed yet, so parsing can
  // happen on another thread first.
  bool parsed() const { return parsed_; }
  void mark_parsed() { parsed_ = true; }

  using Events = std::vector<Event, HugePageAllocator<Event>>;
  Events& events() { return events_; }
  const Events& events() const { return events_; }

 private:
  std::basic_string<char, std::char_traits<char>, HugePageAllocator<char>> arena_;
  std::vector<RawRecord, HugePageAllocator<RawRecord>> records_;
  Events events_;
  std::deque<std::string> owned_;
  std::vector<std::shared_ptr<const RecordOrigin>> pins_;
  std::vector<SourcePosition> positions_;  // few: one per replayable source
  bool parsed_ = false;
};

}  // namespace orderpulse
