#pragma once
// The two ways a simulator command fails, kept apart because they map to different exit codes:
// a UsageError (exit 2) means the command line was wrong; a RunFailure (exit 1) means the inputs
// or outputs were (missing file, missing column, unwritable path).

#include <stdexcept>
#include <string>

namespace orderpulse::sim {

struct UsageError : std::runtime_error {
  explicit UsageError(const std::string& what) : std::runtime_error(what) {}
};

struct RunFailure : std::runtime_error {
  explicit RunFailure(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace orderpulse::sim
