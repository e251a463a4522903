#include "cli/cli.h"

int main(int argc, char** argv) { return colshift::cli::run_cli(argc, argv); }
