#include "orderpulse/event/csv.h"

#include <simdjson.h>

#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "orderpulse/common/bytes.h"

namespace orderpulse {

bool is_valid_utf8(std::string_view s) {
  // Nearly every record is ASCII, which a word-wise test of the high bits settles.
  std::uint64_t high = 0;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    high |= w;
  }
  for (; i < s.size(); ++i) high |= static_cast<unsigned char>(s[i]);
  return (high & 0x8080808080808080ULL) == 0 || simdjson::validate_utf8(s.data(), s.size());
}

bool split_csv_record(std::string_view record, std::vector<std::string_view>& fields,
                      std::string& scratch) {
  fields.clear();
  scratch.clear();
  const std::size_t n = record.size();
#if defined(__SSE2__)
  {
    // Nearly every row has no quote: then its fields are the runs between commas, found 16 bytes
    // at a time in one pass. A quote anywhere sends the row to the general reading below.
    const char* const p = record.data();
    const __m128i commas = _mm_set1_epi8(',');
    const __m128i quotes = _mm_set1_epi8('"');
    std::size_t begin = 0;
    std::size_t k = 0;
    bool quoted = false;
    for (; k + 16 <= n; k += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k));
      if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, quotes)) != 0) {
        quoted = true;
        break;
      }
      for (auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, commas))); m != 0; m &= m - 1) {
        const std::size_t at = k + static_cast<std::size_t>(__builtin_ctz(m));
        fields.emplace_back(p + begin, at - begin);
        begin = at + 1;
      }
    }
    for (; !quoted && k < n; ++k) {
      if (p[k] == '"') {
        quoted = true;
      } else if (p[k] == ',') {
        fields.emplace_back(p + begin, k - begin);
        begin = k + 1;
      }
    }
    if (!quoted) {
      fields.emplace_back(p + begin, n - begin);  // the last field: empty after a trailing comma
      return true;
    }
    fields.clear();
  }
#endif
  // Reserve so that views into scratch are never invalidated by growth.
  scratch.reserve(record.size());
  std::size_t i = 0;
  while (true) {
    if (i < n && record[i] == '"') {
      ++i;
      bool closed = false;
      const std::size_t begin = scratch.size();
      while (i < n) {
        // Up to the next quote in one piece: it closes the field or is the first of a doubled one.
        const void* at = std::memchr(record.data() + i, '"', n - i);
        const std::size_t q = at ? static_cast<std::size_t>(static_cast<const char*>(at) - record.data()) : n;
        scratch.append(record.data() + i, q - i);
        i = q;
        if (i == n) break;
        if (i + 1 < n && record[i + 1] == '"') {
          scratch.push_back('"');
          i += 2;
        } else {
          ++i;
          closed = true;
          break;
        }
      }
      if (!closed) return false;
      fields.emplace_back(scratch.data() + begin, scratch.size() - begin);
      if (i == n) return true;
      if (record[i] != ',') return false;
      ++i;
    } else {
      const std::size_t begin = i;
      i += find_either(record.data() + i, n - i, ',', '"');
      if (i < n && record[i] == '"') return false;  // a quote inside a bare field
      fields.emplace_back(record.data() + begin, i - begin);
      if (i == n) return true;
      ++i;  // the comma; a trailing comma yields one more empty field
      if (i == n) {
        fields.emplace_back();
        return true;
      }
    }
  }
}

std::string_view strip_bom(std::string_view s) {
  if (s.size() >= 3 && s[0] == '\xEF' && s[1] == '\xBB' && s[2] == '\xBF') s.remove_prefix(3);
  return s;
}

void append_csv_field(std::string& out, std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace orderpulse
