#pragma once
// Maps strings (product ids, categories) to dense 32-bit ids so per-pane maps key on integers.
// Owns the strings; ids are stable for the life of the interner. Engine thread only.

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

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
  std::string_view name(std::uint32_t id) const { return names_[id]; }
  std::size_t size() const { return names_.size(); }

 private:
  absl::flat_hash_map<std::string_view, std::uint32_t> ids_;
  std::deque<std::string> names_;
};

}  // namespace orderpulse
