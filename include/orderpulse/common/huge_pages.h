#pragma once
// Memory for large state that is written once at random or in long runs (the dedup key arena):
// asked of the kernel as transparent huge pages. On the project's VM a first touch of a 4 KiB page
// costs a fault that exits to the hypervisor; the arena took ~14,000 of them in a 10M-record run,
// one per 85 new keys. A 2 MiB page is one fault, and one TLB entry for later reads. Where THP is
// off (or "never") the memory is ordinary pages: only speed differs.

#include <cstddef>
#include <memory>

namespace orderpulse {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// At least `bytes` of uninitialised memory (rounded up to whole huge pages), aligned to a huge page
// and advised as such. Throws std::bad_alloc.
std::shared_ptr<char[]> allocate_huge_pages(std::size_t bytes);

}  // namespace orderpulse
