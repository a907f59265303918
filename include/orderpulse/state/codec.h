#pragma once
// The byte encoding of checkpoint state: little-endian fixed-width integers, LEB128 varints and
// length-prefixed strings. Decoding checks every length against what is left and throws
// CodecError, so a damaged file is reported, never read past its end. Plain values; one thread.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "orderpulse/common/money.h"

namespace orderpulse {

class CodecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Encoder {
 public:
  void u8(std::uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { fixed(v, 4); }
  void u64(std::uint64_t v) { fixed(v, 8); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void varint(std::uint64_t v) { base128(v); }
  // Zig-zag, so small negative numbers stay short.
  void svarint(std::int64_t v) { varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }
  // A money sum, the same way over 128 bits: one within 64 bits is written as svarint writes it, so
  // checkpoints written before sums were 128 bits read the same.
  void svarint128(CentsSum v) { base128((static_cast<CentsSumBits>(v) << 1) ^ static_cast<CentsSumBits>(v >> 127)); }
  void str(std::string_view s) {
    varint(s.size());
    buf_.append(s);
  }
  void bytes(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }

  std::string& buffer() { return buf_; }

 private:
  // LEB128: seven bits a byte, low first, the top bit set on all but the last.
  template <typename Unsigned>
  void base128(Unsigned v) {
    char tmp[(sizeof(Unsigned) * 8 + 6) / 7];
    std::size_t n = 0;
    while (v >= 0x80) {
      tmp[n++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    tmp[n++] = static_cast<char>(v);
    buf_.append(tmp, n);
  }
  void fixed(std::uint64_t v, int n) {
    char tmp[8];
    for (int i = 0; i < n; ++i) tmp[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
  std::string buf_;
};

class Decoder {
 public:
  explicit Decoder(std::string_view data) : data_(data) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(fixed(4)); }
  std::uint64_t u64() { return fixed(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  std::uint64_t varint() {
    if (pos_ < data_.size() && !(static_cast<std::uint8_t>(data_[pos_]) & 0x80))  // one byte: most of them
      return static_cast<std::uint8_t>(data_[pos_++]);
    return base128<std::uint64_t>();
  }
  std::int64_t svarint() {
    const std::uint64_t v = varint();
    return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  CentsSum svarint128() {
    const CentsSumBits v = base128<CentsSumBits>();
    return static_cast<CentsSum>((v >> 1) ^ (~(v & 1) + 1));
  }
  std::string_view str() { return take(count(1)); }
  std::string_view bytes(std::size_t n) { return take(n); }
  // A count of items each at least min_bytes long: rejects counts the remaining data cannot hold
  // before anything is allocated for them.
  std::size_t count(std::size_t min_bytes) {
    const std::uint64_t n = varint();
    if (min_bytes > 0 && n > remaining() / min_bytes) throw CodecError("count exceeds the data left");
    return static_cast<std::size_t>(n);
  }

  std::size_t remaining() const { return data_.size() - pos_; }
  bool done() const { return pos_ == data_.size(); }

 private:
  template <typename Unsigned>
  Unsigned base128() {
    Unsigned v = 0;
    for (unsigned shift = 0; shift < sizeof(Unsigned) * 8; shift += 7) {
      const std::uint8_t b = u8();
      v |= static_cast<Unsigned>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw CodecError("bad varint");
  }
  std::string_view take(std::size_t n) {
    if (n > remaining()) throw CodecError("truncated");
    const std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::uint64_t fixed(int n) {
    const std::string_view s = take(static_cast<std::size_t>(n));
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(s[static_cast<std::size_t>(i)])) << (8 * i);
    return v;
  }

  std::string_view data_;
  std::size_t pos_ = 0;
};

}  // namespace orderpulse
