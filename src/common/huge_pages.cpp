#include "orderpulse/common/huge_pages.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace orderpulse {

void* huge_page_alloc(std::size_t bytes) {
  const std::size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* p = std::aligned_alloc(kHugePageBytes, rounded);
  if (p == nullptr) throw std::bad_alloc();
  // Only advice: where THP is off the memory is plain pages and everything still works.
  (void)madvise(p, rounded, MADV_HUGEPAGE);
  return p;
}

void huge_page_free(void* p) noexcept { std::free(p); }

}  // namespace orderpulse
