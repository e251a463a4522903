// The command line: one table of subcommands {name, summary, setup}.
//
// Each command lives in its own cmd_NAME.cc and only parses options and prints;
// the work is done by the library folders below cli/.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace colshift::cli {

// Options that every command accepts (DESIGN.md "Command line").
struct GlobalOptions {
  std::string db;                      // --db, else DATABASE_URL, else PG* variables
  std::string schema = "colshift";     // --schema: colshift's own schema
  std::string lock_timeout = "500ms";  // --lock-timeout
  bool json = false;                   // --json
  bool verbose = false;                // --verbose
  bool color = true;                   // false with NO_COLOR or when not a terminal

  // The effective connection string: --db, else DATABASE_URL, else "".
  std::string database_url() const;
  // --lock-timeout parsed; throws Error(kUsage) when malformed or not > 0.
  std::chrono::milliseconds lock_timeout_ms() const;
};

// Returns the process exit code.
using CommandRun = std::function<int()>;
// Adds a command's options to `sub` and returns what runs it once parsed.
// `global` outlives the returned function and is filled in by then.
using CommandSetup = CommandRun (*)(CLI::App& sub, const GlobalOptions& global);

struct CommandSpec {
  const char* name;
  const char* summary;
  CommandSetup setup;
};

const std::vector<CommandSpec>& command_table();

// The whole command line, built from command_table(): the root app (global
// options, --help, --version) with one subcommand per row. --help, the man
// pages (`colshift manpages`) and the completion scripts all read this tree.
struct CliApp {
  GlobalOptions global;           // filled in by app->parse()
  std::unique_ptr<CLI::App> app;  // owns the subcommands
  std::vector<CLI::App*> subs;    // parallel to command_table()
  std::vector<CommandRun> runs;   // parallel to command_table()
};
// Never null; the result must not move (the commands refer to its `global`).
std::unique_ptr<CliApp> make_cli_app();

// Parses argv, runs the chosen command, prints errors; returns the exit code.
int run_cli(int argc, char** argv);

// Parses durations like "500ms", "2s", "5m", "1h", "250" (milliseconds).
// Throws Error(kUsage) naming `flag` when malformed, negative or too long.
std::chrono::milliseconds parse_duration(const std::string& text, const std::string& flag);
// Same, and more than 0 ms (after rounding down to milliseconds); `hint` says
// why 0 is refused.
std::chrono::milliseconds parse_positive_duration(const std::string& text, const std::string& flag,
                                                  const std::string& hint);

}  // namespace colshift::cli
