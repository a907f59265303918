#pragma once
// Helpers shared by the unit tests: build batches from record texts and run them through an
// Engine, collecting what the sinks would see.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "orderpulse/engine/engine.h"

namespace orderpulse::test {

// A fresh directory under the system's temp directory, removed with everything in it at the end.
// ctest runs each test case as its own process, two at a time: a fixed file name there is shared
// by cases that run at once, and one case deleted another's catalog.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "orderpulse-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct Collected final : ResultSink {
  std::vector<std::string> windows;  // append_window_json lines
  std::vector<std::pair<DropReason, std::uint64_t>> drops;
  std::vector<std::string> alerts;  // append_alert_json lines
  void on_alert(const Alert& a) override {
    std::string s;
    append_alert_json(s, a);
    alerts.push_back(std::move(s));
  }
  void on_drop(const DropView& d) override { drops.emplace_back(d.reason, d.position); }
  void on_window(const WindowResult& w) override {
    std::string s;
    append_window_json(s, w);
    windows.push_back(std::move(s));
  }
};

inline RecordOrigin& test_origin() {
  static RecordOrigin origin{0, "file", "file", "test"};
  return origin;
}

// Runs NDJSON lines through a fresh engine in batches of `batch_size`, then ends the input.
inline Collected run_lines(const std::vector<std::string>& lines, const Config& config, std::size_t batch_size,
                           std::shared_ptr<const Catalog> catalog = nullptr, EngineStats* stats = nullptr) {
  Engine engine(config, catalog);
  Collected out;
  engine.add_sink(out);
  EventBatch batch;
  for (std::size_t i = 0; i < lines.size();) {
    batch.clear();
    for (std::size_t n = 0; n < batch_size && i < lines.size(); ++n, ++i) batch.add(lines[i], i + 1, &test_origin(), {});
    batch.seal();
    engine.process(batch);
  }
  engine.finish();
  if (stats) *stats = engine.stats();
  return out;
}

// The engine's checkpoint state, encoded.
inline std::string checkpoint_bytes(Engine& engine) {
  Encoder out;
  Engine::encode(engine.snapshot(), out);
  return out.buffer();
}

// Restores a fresh engine from checkpoint_bytes(), which must be read to their end.
inline void restore(Engine& engine, std::string_view bytes) {
  Decoder in(bytes);
  engine.decode(in);
  EXPECT_TRUE(in.done());
}

inline std::string order_line(const std::string& order, int line, const std::string& customer, const std::string& product,
                              const std::string& price, const std::string& time, int quantity = 1) {
  return "{\"order_id\":\"" + order + "\",\"line\":" + std::to_string(line) + ",\"customer_id\":\"" + customer +
         "\",\"product_id\":\"" + product + "\",\"quantity\":" + std::to_string(quantity) + ",\"unit_price\":" + price +
         ",\"event_time\":\"" + time + "\"}";
}

}  // namespace orderpulse::test
