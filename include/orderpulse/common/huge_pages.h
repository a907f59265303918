#pragma once
// Memory for large state that is written once at random or in long runs (the dedup key arena):
// asked of the kernel as transparent huge pages. On the project's VM a first touch of a 4 KiB page
// costs a fault that exits to the hypervisor; the arena took ~14,000 of them in a 10M-record run,
// one per 85 new keys. A 2 MiB page is one fault, and one TLB entry for later reads. Where THP is
// off (or "never") the memory is ordinary pages: only speed differs.

#include <cstddef>
#include <memory>
#include <new>

namespace orderpulse {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// At least `bytes` of uninitialised memory (rounded up to whole huge pages), aligned to a huge page
// and advised as such. Throws std::bad_alloc.
std::shared_ptr<char[]> allocate_huge_pages(std::size_t bytes);

// Raw forms for HugePageAllocator: `bytes` is rounded up to whole huge pages; release with
// release_huge_pages.
void* allocate_huge_pages_raw(std::size_t bytes);
void release_huge_pages(void* p) noexcept;

// A standard allocator whose blocks of a huge page or more are huge pages: for containers that
// grow large and are filled afresh many times, such as a micro-batch's text and events (the live
// server's batches reach 65,536 records, 20 MiB; 4 KiB pages cost it ~40,000 faults while they
// grew). Smaller blocks come from operator new. Stateless: all instances are equal.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes >= kHugePageBytes) return static_cast<T*>(allocate_huge_pages_raw(bytes));
    return static_cast<T*>(::operator new(bytes));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) >= kHugePageBytes) {
      release_huge_pages(p);
    } else {
      ::operator delete(p);
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace orderpulse
