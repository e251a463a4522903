#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "dialect/dialect.h"
#include "migration/migration.h"

namespace colshift::cli {

CommandRun setup_migrate(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    std::string dir = "migrations";
    ChangeOptions change;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("DIR", o->dir, "directory of migration files, applied in file-name order")
      ->capture_default_str();
  add_backfill_options(sub, o->change);
  add_complete_options(sub, o->change);
  add_guard_options(sub, o->change);
  return [o, &g]() -> int {
    auto options = run_options(g, o->change);  // flags first: nothing read or connected yet
    // Load (and so validate) every file before changing anything.
    std::vector<migration::Migration> all;
    for (const auto& f : migration::list_migration_files(o->dir))
      all.push_back(migration::load_migration_file(f));
    for (auto& m : all) migration::add_flag_guards(m, o->change.guards);
    auto hooks = make_hooks(g);
    run::Runner runner(postgres_dialect(), connection_factory(g), options, hooks);
    nlohmann::json out = nlohmann::json::array();
    int applied = 0;
    for (const auto& m : all) {
      auto outcome = runner.start(m);
      if (outcome == run::StartOutcome::kAlreadyApplied) {
        out.push_back({{"migration", m.name}, {"outcome", "already_applied"}});
        continue;
      }
      hooks.log(fmt::format("complete {}", m.name));
      runner.complete();
      ++applied;
      out.push_back({{"migration", m.name}, {"outcome", "applied"}});
    }
    if (g.json) {
      print_json(out);
    } else {
      std::cout << fmt::format("{} migration{} applied, {} already applied\n", applied,
                               applied == 1 ? "" : "s", all.size() - applied);
    }
    return 0;
  };
}

}  // namespace colshift::cli
