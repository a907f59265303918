#pragma once
// Command-line conventions shared by the orderpulse binaries: errors are one line on stderr
// prefixed with the program name; usage errors exit 2, runtime failures 1.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>
#include <string>

namespace orderpulse {

inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

// Prints "program: message" on one line (newlines inside the message become spaces).
inline int cli_fail(const char* program, int code, std::string message) {
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  while (!message.empty() && message.back() == ' ') message.pop_back();
  std::fprintf(stderr, "%s: %s\n", program, message.c_str());
  return code;
}

// For options naming a file or directory: an empty value is nearly always an unset shell variable
// (`--config "$CFG"`), and silently running with the defaults would hide it.
inline const CLI::Validator kNonEmptyPath(
    [](std::string& value) { return value.empty() ? std::string("an empty path") : std::string(); }, "PATH");

// Parses the command line. nullopt to go on; otherwise the exit code (0 after --help/--version).
inline std::optional<int> cli_parse(CLI::App& app, const char* program, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return cli_fail(program, kExitUsage, std::string(e.what()) + " (see --help)");
  }
  return std::nullopt;
}

}  // namespace orderpulse
