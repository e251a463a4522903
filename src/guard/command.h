// Runs a command guard's program: argv[0] is looked up on PATH and run
// without a shell (a file's `command: "text"` becomes {"sh", "-c", text}),
// with stdin from /dev/null, stdout captured (up to 64 KiB) and stderr kept for
// messages. A program still running at the timeout is killed (SIGKILL, its
// whole process group) and waited for.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace colshift::guard {

struct CommandResult {
  bool ran = false;        // it started and exited by itself
  bool timed_out = false;  // killed at the timeout
  int exit_code = -1;      // when ran
  std::string out;         // stdout
  std::string err;         // stderr (trimmed to 500 bytes)
  std::string error;       // why it could not run (spawn failed)
};

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// A guard reading from a command: the number it printed, or why there is
// none ("exited 2: ...", "timed out after 5 s", "not a number: 'abc'").
// Returns "" and sets `value` on success.
std::string read_command_number(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout, double& value);

}  // namespace colshift::guard
