// The machine's yardstick: simdjson alone, walking every field of every record of an NDJSON file,
// with nothing else. Issue #3 states its per-core target against this ("simdjson parses these
// ~170-byte records at about 12M/s on one core here"), and this VM's speed drifts by a third from
// hour to hour, so `make bench` measures it beside orderpulse's one-core run and reports both the
// absolute rate and orderpulse's share of this one.
//
// It reads as the file source does (read() into one reused buffer, so the pages stay warm, cut at
// the last newline) and parses each buffer with iterate_many. Strings are unescaped, numbers
// converted: the least any consumer of these records must do. Prints one JSON line.

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <simdjson.h>
#include <vector>

namespace {

int fail(const char* what, const char* detail) {
  std::fprintf(stderr, "simdjson_reference: %s: %s\n", what, detail);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace simdjson;
  if (argc != 2) {
    std::fprintf(stderr, "usage: simdjson_reference FILE.ndjson\n");
    return 2;
  }
  const int fd = ::open(argv[1], O_RDONLY);
  if (fd < 0) return fail(argv[1], std::strerror(errno));
  constexpr std::size_t kBuffer = std::size_t{1} << 20;
  std::vector<char> buf(kBuffer + SIMDJSON_PADDING);
  ondemand::parser parser;
  std::uint64_t records = 0, checksum = 0;
  std::size_t have = 0;
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    const ssize_t got = ::read(fd, buf.data() + have, kBuffer - have);
    if (got < 0) return fail(argv[1], std::strerror(errno));
    have += static_cast<std::size_t>(got);
    // Whole lines only; at end of file, whatever is left.
    std::size_t end = have;
    if (got > 0)
      while (end > 0 && buf[end - 1] != '\n') --end;
    if (end == 0 && got > 0) return fail(argv[1], "a line longer than the buffer");
    if (end > 0) {
      ondemand::document_stream stream;
      if (auto err = parser.iterate_many(buf.data(), end, kBuffer).get(stream)) return fail(argv[1], error_message(err));
      for (auto doc : stream) {
        ondemand::object obj;
        if (auto err = doc.get_object().get(obj)) return fail("record", error_message(err));
        for (auto f : obj) {
          ondemand::field field;
          if (auto err = std::move(f).get(field)) return fail("field", error_message(err));
          ondemand::value value = field.value();
          ondemand::json_type type;
          if (auto err = value.type().get(type)) return fail("value", error_message(err));
          if (type == ondemand::json_type::string) {
            std::string_view s;
            if (auto err = value.get_string().get(s)) return fail("string", error_message(err));
            checksum += s.size();
          } else {
            double d;
            if (auto err = value.get_double().get(d)) return fail("number", error_message(err));
            checksum += static_cast<std::uint64_t>(d);
          }
        }
        ++records;
      }
    }
    std::memmove(buf.data(), buf.data() + end, have - end);
    have -= end;
    if (got == 0) break;
  }
  ::close(fd);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"records\":%llu,\"checksum\":%llu,\"seconds\":%.3f,\"records_per_second\":%.0f}\n",
              static_cast<unsigned long long>(records), static_cast<unsigned long long>(checksum), secs,
              static_cast<double>(records) / secs);
  return 0;
}
