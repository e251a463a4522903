#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "dialect/dialect.h"
#include "util/text.h"

namespace colshift::cli {

CommandRun setup_complete(CLI::App& sub, const GlobalOptions& g) {
  auto o = std::make_shared<ChangeOptions>();
  add_complete_options(sub, *o);
  add_lock_retries_option(sub, *o);
  add_watch_for_option(sub, *o,
                       "complete (nothing can be undone then: a tripped pause or rollback guard "
                       "is recorded as an alert and complete exits 1)");
  return [o, &g]() -> int {
    auto options = run_options(g, *o);  // checked before connecting
    auto hooks = make_hooks(g);
    run::Runner runner(postgres_dialect(), connection_factory(g), options, hooks);
    auto active = runner.state().initialized() ? runner.state().active() : std::nullopt;
    runner.complete();
    std::string name = active ? active->name : "";
    std::vector<std::string> alerts;
    if (active) {
      runner.watch_completed(active->id, watch_for(*o));
      for (const auto& rec : runner.state().guards(active->id))
        if (rec.stage == "completed" && rec.decision == "alert")
          alerts.push_back(fmt::format("{} ({})", rec.name, rec.reason));
    }
    if (!alerts.empty()) {
      throw Error(ErrorKind::kChangeFailed,
                  fmt::format("{} completed, and then guard {} tripped", name, join(alerts, ", ")),
                  {},
                  "completed migrations cannot be rolled back; write a new migration to change "
                  "the schema again. 'colshift status' shows the guards' values");
    }
    if (g.json) {
      print_json({{"migration", name}, {"phase", "completed"}});
    } else {
      std::cout << fmt::format("{} completed: only the new shape remains.\n", name);
    }
    return 0;
  };
}

}  // namespace colshift::cli
