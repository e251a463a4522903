#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "dialect/dialect.h"

namespace colshift::cli {

CommandRun setup_rollback(CLI::App& sub, const GlobalOptions& g) {
  auto o = std::make_shared<ChangeOptions>();
  add_lock_retries_option(sub, *o);
  return [o, &g]() -> int {
    auto options = run_options(g, *o);  // checked before connecting
    auto hooks = make_hooks(g);
    run::Runner runner(postgres_dialect(), connection_factory(g), options, hooks);
    auto active = runner.state().initialized() ? runner.state().active() : std::nullopt;
    auto t0 = std::chrono::steady_clock::now();
    runner.rollback();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string name = active ? active->name : "";
    if (g.json) {
      print_json({{"migration", name}, {"phase", "rolled_back"}, {"seconds", secs}});
    } else {
      std::cout << fmt::format("{} rolled back in {:.2f} s: the table is as before.\n", name, secs);
    }
    return 0;
  };
}

}  // namespace colshift::cli
