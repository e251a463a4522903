#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "dialect/dialect.h"

namespace colshift::cli {

CommandRun setup_complete(CLI::App& sub, const GlobalOptions& g) {
  auto o = std::make_shared<ChangeOptions>();
  add_complete_options(sub, *o);
  add_lock_retries_option(sub, *o);
  return [o, &g]() -> int {
    auto options = run_options(g, *o);  // checked before connecting
    auto hooks = make_hooks(g);
    run::Runner runner(postgres_dialect(), connection_factory(g), options, hooks);
    auto active = runner.state().initialized() ? runner.state().active() : std::nullopt;
    runner.complete();
    std::string name = active ? active->name : "";
    if (g.json) {
      print_json({{"migration", name}, {"phase", "completed"}});
    } else {
      std::cout << fmt::format("{} completed: only the new shape remains.\n", name);
    }
    return 0;
  };
}

}  // namespace colshift::cli
