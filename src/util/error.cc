#include "util/error.h"

namespace colshift {

std::string Error::render() const {
  std::string out;
  if (!where_.empty()) {
    // A multi-line "where" (a source excerpt with a caret) goes after the message.
    auto nl = where_.find('\n');
    if (nl == std::string::npos) {
      out = where_ + ": error: " + what();
    } else {
      out = where_.substr(0, nl) + ": error: " + what() + "\n" + where_.substr(nl + 1);
    }
  } else {
    out = std::string("error: ") + what();
  }
  if (!hint_.empty()) out += "\n  hint: " + hint_;
  return out;
}

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUsage:
    case ErrorKind::kBadInput:
      return kExitBadInput;
    case ErrorKind::kLintFailed:
      return kExitLintErrors;
    case ErrorKind::kChangeFailed:
    case ErrorKind::kLockTimeout:
    case ErrorKind::kConnection:
    case ErrorKind::kConflict:
      return kExitChangeFailed;
    case ErrorKind::kInterrupted:
      return kExitInterrupted;
  }
  return kExitChangeFailed;
}

}  // namespace colshift
