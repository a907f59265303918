#include "orderpulse/common/huge_pages.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace orderpulse {

void* allocate_huge_pages_raw(std::size_t bytes) {
  // aligned_alloc wants a multiple of the alignment.
  bytes = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* p = std::aligned_alloc(kHugePageBytes, bytes);
  if (p == nullptr) throw std::bad_alloc();
  // Advice only: a kernel without THP (or with it off) keeps small pages, and that is no error.
#if defined(MADV_HUGEPAGE)
  (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

void release_huge_pages(void* p) noexcept { std::free(p); }

std::shared_ptr<char[]> allocate_huge_pages(std::size_t bytes) {
  return std::shared_ptr<char[]>(static_cast<char*>(allocate_huge_pages_raw(bytes)), [](char* q) { release_huge_pages(q); });
}

}  // namespace orderpulse
