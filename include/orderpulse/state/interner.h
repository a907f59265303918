#pragma once
// Maps strings (product ids, categories) to dense 32-bit ids so per-pane maps key on integers.
// Owns the strings; ids are stable for the life of the interner. Engine thread only.

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "orderpulse/common/hash.h"

namespace orderpulse {

class Interner {
 public:
  std::uint32_t intern(std::string_view s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(names_.size());
    const std::string& stored = names_.emplace_back(s);  // deque: stable addresses
    ids_.emplace(std::string_view(stored), id);
    return id;
  }
  std::optional<std::uint32_t> find(std::string_view s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? std::nullopt : std::optional<std::uint32_t>(it->second);
  }
  std::string_view name(std::uint32_t id) const { return names_[id]; }
  std::size_t size() const { return names_.size(); }

 private:
  struct Hash {
    std::size_t operator()(std::string_view s) const { return stable_hash(s); }
  };
  absl::flat_hash_map<std::string_view, std::uint32_t, Hash> ids_;
  std::deque<std::string> names_;
};

}  // namespace orderpulse
