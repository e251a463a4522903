// colshift completion SHELL: print the completion script for bash, zsh or
// fish, generated from the same command table as --help.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/cli.h"
#include "cli/command_docs.h"

namespace colshift::cli {

CommandRun setup_completion(CLI::App& sub, const GlobalOptions&) {
  auto shell = std::make_shared<std::string>();
  sub.add_option("SHELL", *shell, "the shell to complete for")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  sub.footer(
      "Load it for this shell: source <(colshift completion bash). The Debian package and "
      "'cmake --install' install all three.");
  CLI::App* self = &sub;
  return [shell, self]() -> int {
    std::cout << completion_script(*self->get_parent(), *shell);
    return 0;
  };
}

}  // namespace colshift::cli
