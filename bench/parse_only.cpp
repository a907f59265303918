// Reads input files exactly as `orderpulse batch` does (same source, same parser) but runs no
// operators: the ceiling the full pipeline is measured against. Prints one JSON line.

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "orderpulse/ingest/file_source.h"

int main(int argc, char** argv) {
  using namespace orderpulse;
  if (argc < 2) {
    std::fprintf(stderr, "usage: parse_only FILE [FILE...]\n");
    return 2;
  }
  std::vector<std::string> inputs(argv + 1, argv + argc);
  FileSource source(inputs, std::nullopt, 1 << 20);
  RecordParser parser;
  EventBatch batch;
  std::uint64_t records = 0, valid = 0;
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    batch.clear();
    if (!source.fill(batch, 65536)) break;
    batch.seal();
    parser.parse(batch);
    records += batch.size();
    for (const Event& e : batch.events()) valid += e.status == EventStatus::accepted;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"records\":%llu,\"valid\":%llu,\"seconds\":%.3f,\"records_per_second\":%.0f}\n",
              static_cast<unsigned long long>(records), static_cast<unsigned long long>(valid), secs,
              static_cast<double>(records) / secs);
  return 0;
}
