#include <csignal>

#include "cli/cli.h"

int main(int argc, char** argv) {
  // A shell's background job inherits SIGINT ignored; colshift is safe to
  // interrupt at any point (every step is recorded or idempotent), so an
  // operator's Ctrl-C or kill -INT always stops it.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return colshift::cli::run_cli(argc, argv);
}
