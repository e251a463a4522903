#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "dialect/dialect.h"

namespace colshift::cli {

CommandRun setup_complete(CLI::App& sub, const GlobalOptions& g) {
  auto o = std::make_shared<ChangeOptions>();
  add_complete_options(sub, *o);
  sub.add_option("--lock-retries", o->lock_retries, "tries per DDL step when lock_timeout expires")
      ->capture_default_str();
  return [o, &g]() -> int {
    auto hooks = make_hooks(g);
    run::Runner runner(postgres_dialect(), connection_factory(g), run_options(g, *o), hooks);
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
