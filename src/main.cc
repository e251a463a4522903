#include "cli/cli.h"
#include "util/interrupt.h"

int main(int argc, char** argv) {
  // Ctrl-C (or kill -INT / -TERM, even for a background job that inherited
  // SIGINT ignored) cancels colshift's statements on the server and stops it
  // cleanly, saying what it left; a second one ends it at once.
  colshift::interrupt::install();
  return colshift::cli::run_cli(argc, argv);
}
