#pragma once
// An array of trivially copyable values in fixed-size chunks that a checkpoint can freeze in
// microseconds: freeze() hands out shared pointers to the current chunks and marks them shared;
// the next write to a shared chunk copies that chunk first. The engine thus never copies state
// that did not change, and the pause a checkpoint causes is bounded by one chunk copy (tens of
// KiB), wherever the state is large. Owned by one state object on the engine thread; a Frozen view
// may be read on any thread, since nobody writes a shared chunk again.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "orderpulse/common/huge_pages.h"
#include "orderpulse/common/prefetch.h"

namespace orderpulse {

template <typename T, unsigned kChunkBits = 12>
class CowChunks {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;
  static constexpr std::size_t kChunkMask = kChunkSize - 1;
  static constexpr std::size_t kChunkBytes = kChunkSize * sizeof(T);

  using Chunk = T[];
  // What a checkpoint holds: the chunks as they were at freeze(), and how many values count.
  struct Frozen {
    std::vector<std::shared_ptr<const T[]>> chunks;
    std::size_t size = 0;
    const T& operator[](std::size_t i) const { return chunks[i >> kChunkBits][i & kChunkMask]; }
  };

  CowChunks() = default;
  CowChunks(std::size_t n, const T& value) { resize(n, value); }

  std::size_t size() const { return size_; }
  const T& operator[](std::size_t i) const { return chunks_[i >> kChunkBits][i & kChunkMask]; }
  void prefetch(std::size_t i) const { prefetch_read(chunks_[i >> kChunkBits].get() + (i & kChunkMask)); }
  void prefetch_for_write(std::size_t i) const { prefetch_write(chunks_[i >> kChunkBits].get() + (i & kChunkMask)); }

  // For writing: copies the chunk first when a checkpoint still holds it.
  T& mut(std::size_t i) {
    const std::size_t c = i >> kChunkBits;
    if (!owned_[c]) [[unlikely]]
      unshare(c);
    return chunks_[c][i & kChunkMask];
  }

  // Grows (never shrinks) to n values, new ones set to `value`.
  void resize(std::size_t n, const T& value) {
    // Values past size_ in the chunks already held may be stale; new chunks are filled whole.
    const std::size_t held = std::min(n, chunks_.size() * kChunkSize);
    for (std::size_t i = size_; i < held; ++i) mut(i) = value;
    const std::size_t wanted = (n + kChunkSize - 1) / kChunkSize;
    // Large arrays (the dedup tables) are probed at random: their chunks are cut from huge pages,
    // which spares a TLB miss per probe and a page fault per 4 KiB. Each chunk shares ownership of
    // its block, so a checkpoint holding some chunks keeps the block alive.
    if (kHugePageBytes % kChunkBytes == 0 && wanted > chunks_.size() &&
        (wanted - chunks_.size()) * kChunkBytes >= kHugePageBytes) {
      const std::size_t count = wanted - chunks_.size();
      const std::shared_ptr<char[]> block = allocate_huge_pages(count * kChunkBytes);
      for (std::size_t k = 0; k < count; ++k)
        append_chunk(std::shared_ptr<T[]>(block, reinterpret_cast<T*>(block.get() + k * kChunkBytes)), value);
    }
    while (chunks_.size() < wanted) append_chunk(allocate_chunk(), value);
    size_ = std::max(size_, n);
  }

  // Sets every value; shared chunks are replaced rather than copied.
  void fill(const T& value) {
    for (std::size_t c = 0; c < chunks_.size(); ++c) {
      if (!owned_[c]) {
        chunks_[c] = allocate_chunk();
        owned_[c] = 1;
      }
      std::fill_n(chunks_[c].get(), kChunkSize, value);
    }
  }

  Frozen freeze() {
    Frozen f;
    f.chunks.assign(chunks_.begin(), chunks_.end());
    f.size = size_;
    std::fill(owned_.begin(), owned_.end(), 0);
    return f;
  }

  // Chunks copied because a checkpoint held them (for the checkpoint probe).
  std::uint64_t copies() const { return copies_; }

 private:
  static std::shared_ptr<T[]> allocate_chunk() { return std::make_shared_for_overwrite<T[]>(kChunkSize); }

  void append_chunk(std::shared_ptr<T[]> chunk, const T& value) {
    std::fill_n(chunk.get(), kChunkSize, value);
    chunks_.push_back(std::move(chunk));
    owned_.push_back(1);
  }

  void unshare(std::size_t c) {
    auto copy = allocate_chunk();
    std::copy_n(chunks_[c].get(), kChunkSize, copy.get());
    chunks_[c] = std::move(copy);
    owned_[c] = 1;
    ++copies_;
  }

  std::vector<std::shared_ptr<T[]>> chunks_;
  std::vector<std::uint8_t> owned_;  // 0 = a checkpoint may hold the chunk: copy before writing
  std::size_t size_ = 0;
  std::uint64_t copies_ = 0;
};

}  // namespace orderpulse
