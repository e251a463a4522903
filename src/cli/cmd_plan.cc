#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "util/error.h"

namespace colshift::cli {

CommandRun setup_plan(CLI::App& /*sub*/, const GlobalOptions& /*global*/) {
  return [] () -> int { throw Error(ErrorKind::kUsage, "'plan' is not implemented yet"); };
}

}  // namespace colshift::cli
