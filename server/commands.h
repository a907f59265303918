#pragma once
// Subcommands of the `orderpulse` binary. Wiring only: the work happens in the library.

#include <optional>
#include <string>
#include <vector>

#include "orderpulse/ingest/file_source.h"

namespace orderpulse {

struct BatchOptions {
  std::vector<std::string> inputs;
  std::string output_dir;
  std::string config_path;
  std::string catalog_path;
  std::optional<InputFormat> format;
  std::optional<std::size_t> batch_size;
  unsigned threads = 0;  // 0: two when the process may use two CPUs or more, else one
  bool quiet = false;
};

// Exit codes: 0 success, 1 runtime failure, 2 usage or config error.
int run_batch(const BatchOptions& options);

}  // namespace orderpulse

namespace orderpulse {

struct ServeOptions {
  std::string config_path;
  std::string catalog_path;
  std::string ingest = "127.0.0.1:9000";
  std::string http = "127.0.0.1:8080";
  std::string output_dir = "orderpulse-out";
  std::vector<std::string> follow;
  std::string checkpoint_dir;
  std::string checkpoint_interval;  // empty: the config's
  bool reset_state = false;
  bool exit_at_eof = false;
  std::string kafka_brokers;
  std::string kafka_topic;
  std::string kafka_group = "orderpulse";
};

// Runs until SIGINT/SIGTERM (or, with exit_at_eof, until the followed files are read). Exit codes as
// for run_batch.
int run_serve(const ServeOptions& options);

}  // namespace orderpulse
