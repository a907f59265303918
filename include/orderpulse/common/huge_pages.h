#pragma once
// Memory for large tables that are read at random (the dedup slots): 2 MiB-aligned and advised
// for transparent huge pages. With 4 KiB pages every probe of a table larger than the TLB's reach
// also missed the TLB, and in a VM a page walk costs more than the cache miss it precedes; the
// kernel's default THP mode here is "madvise", so the advice is what turns huge pages on.

#include <cstddef>

namespace orderpulse {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// `bytes` rounded up to whole huge pages; never null (throws std::bad_alloc).
void* huge_page_alloc(std::size_t bytes);
void huge_page_free(void* p) noexcept;

}  // namespace orderpulse
