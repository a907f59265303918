#pragma once
// Maps strings (product ids, categories) to dense 32-bit ids so per-pane maps key on integers.
// Owns the strings; ids are stable for the life of the interner. Engine thread only, except a
// Frozen view, which any thread may read: names live in fixed chunks that never move and are never
// written again once set, so a checkpoint shares them instead of copying a million strings.

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orderpulse/common/hash.h"

namespace orderpulse {

class Interner {
  static constexpr unsigned kChunkBits = 12;
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;

 public:
  struct Frozen {
    std::vector<std::shared_ptr<const std::string[]>> chunks;
    std::size_t size = 0;
    std::string_view name(std::uint32_t id) const { return chunks[id >> kChunkBits][id & (kChunkSize - 1)]; }
  };

  std::uint32_t intern(std::string_view s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(size_);
    if ((size_ >> kChunkBits) == chunks_.size()) chunks_.push_back(std::make_shared<std::string[]>(kChunkSize));
    std::string& stored = chunks_.back()[size_ & (kChunkSize - 1)];
    stored.assign(s);
    ++size_;
    ids_.emplace(std::string_view(stored), id);
    return id;
  }
  std::optional<std::uint32_t> find(std::string_view s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? std::nullopt : std::optional<std::uint32_t>(it->second);
  }
  std::string_view name(std::uint32_t id) const { return chunks_[id >> kChunkBits][id & (kChunkSize - 1)]; }
  std::size_t size() const { return size_; }
  void reserve(std::size_t n) { ids_.reserve(n); }

  Frozen freeze() const { return Frozen{{chunks_.begin(), chunks_.end()}, size_}; }

 private:
  struct Hash {
    std::size_t operator()(std::string_view s) const { return stable_hash(s); }
  };
  absl::flat_hash_map<std::string_view, std::uint32_t, Hash> ids_;
  std::vector<std::shared_ptr<std::string[]>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace orderpulse
