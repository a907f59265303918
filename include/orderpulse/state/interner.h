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

  // `hash` is stable_hash(s), when the caller has it already.
  std::uint32_t intern(std::string_view s) { return intern(s, stable_hash(s)); }
  std::uint32_t intern(std::string_view s, std::uint64_t hash) {
    auto it = ids_.find(Hashed{s, hash});
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
  // A name with its hash already taken: looked up without hashing it again.
  struct Hashed {
    std::string_view s;
    std::uint64_t hash;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return stable_hash(s); }
    std::size_t operator()(const Hashed& h) const { return h.hash; }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
    bool operator()(const Hashed& a, std::string_view b) const { return a.s == b; }
    bool operator()(std::string_view a, const Hashed& b) const { return a == b.s; }
  };
  absl::flat_hash_map<std::string_view, std::uint32_t, Hash, Eq> ids_;
  std::vector<std::shared_ptr<std::string[]>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace orderpulse
