#pragma once
// Equality of short byte strings (ids, categories) without a call into libc: most are 4-16 bytes,
// where memcmp's call and size dispatch cost more than the compare. Two overlapping 8- or 4-byte
// loads cover the bytes exactly, so nothing past either string is read.

#include <cstdint>
#include <cstring>
#include <string_view>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace orderpulse {

namespace detail {
// n bytes, sizeof(Word) <= n <= 2 * sizeof(Word): the first and the last Word, overlapping.
template <typename Word>
bool same_ends(const char* a, const char* b, std::size_t n) {
  Word a0, b0, a1, b1;
  std::memcpy(&a0, a, sizeof(Word));
  std::memcpy(&b0, b, sizeof(Word));
  std::memcpy(&a1, a + n - sizeof(Word), sizeof(Word));
  std::memcpy(&b1, b + n - sizeof(Word), sizeof(Word));
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}
}  // namespace detail

inline bool same_bytes(const char* a, const char* b, std::size_t n) {
  if (n > 16) return std::memcmp(a, b, n) == 0;
  if (n >= 8) return detail::same_ends<std::uint64_t>(a, b, n);
  if (n >= 4) return detail::same_ends<std::uint32_t>(a, b, n);
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

inline bool same_bytes(std::string_view a, std::string_view b) {
  return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size());
}

// The index of the first of the n bytes at p that is `a` or `b`, or n when none is. 16 bytes at a
// time, never reading past p + n: CSV framing and splitting look for their few special bytes
// (quote, comma, newline) in runs of plain text, where a test per byte cost a third of a CSV run.
inline std::size_t find_either(const char* p, std::size_t n, char a, char b) {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const auto hits = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb))));
    if (hits != 0) return i + static_cast<std::size_t>(__builtin_ctz(hits));
  }
#endif
  for (; i < n; ++i)
    if (p[i] == a || p[i] == b) return i;
  return n;
}

// Without the blanks (space, tab) around it: how a time, a CSV cell of a catalog or a number is
// read. JSON tokens use the parser's own trim, which also drops CR and LF (JSON whitespace).
inline std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace orderpulse
