// The one error model of colshift.
//
// Expected failures are thrown as colshift::Error, which carries:
//   - kind:  what class of failure it is; the process exit code comes from it
//            (exit_code_for), in exactly one place;
//   - what(): one sentence naming what went wrong;
//   - where: a location: "file:line:col", a SQL statement, a table name, or empty;
//   - hint:  what the user can do about it (may be empty).
// Anything else that escapes (std::bad_alloc, logic errors) is a bug and exits 1
// with a "colshift internal error" prefix.
#pragma once

#include <stdexcept>
#include <string>

namespace colshift {

enum class ErrorKind {
  kUsage,         // bad command line                                  -> exit 2
  kBadInput,      // malformed file, missing table, bad URL, ...       -> exit 2
  kLintFailed,    // lint found error-level findings                   -> exit 3
  kChangeFailed,  // the change could not be made; database left safe  -> exit 1
  kLockTimeout,   // lock_timeout exhausted all retries (a kChangeFailed) -> exit 1
  kConnection,    // the server could not be reached or went away       -> exit 1
  kConflict,      // another colshift holds the migration lock, or state forbids -> exit 1
  kInterrupted,   // stopped by Ctrl-C or SIGTERM; left safe and resumable -> exit 130
};

// Process exit codes (DESIGN.md "Command line").
enum ExitCode : int {
  kExitOk = 0,
  kExitChangeFailed = 1,
  kExitBadInput = 2,
  kExitLintErrors = 3,
  kExitInterrupted = 130,  // 128 + SIGINT, as shells report an interrupted command
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string where = {}, std::string hint = {})
      : std::runtime_error(std::move(message)),
        kind_(kind),
        where_(std::move(where)),
        hint_(std::move(hint)) {}

  ErrorKind kind() const { return kind_; }
  const std::string& where() const { return where_; }
  const std::string& hint() const { return hint_; }

  // "where: error: message\n  hint: ..." as printed to stderr.
  std::string render() const;

 private:
  ErrorKind kind_;
  std::string where_;
  std::string hint_;
};

int exit_code_for(ErrorKind kind);

}  // namespace colshift
