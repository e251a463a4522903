#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "dialect/dialect.h"
#include "migration/migration.h"
#include "util/text.h"

namespace colshift::cli {

CommandRun setup_start(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    std::string file;
    ChangeOptions change;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("FILE", o->file, "migration file")->required();
  add_backfill_options(sub, o->change);
  return [o, &g]() -> int {
    auto options = run_options(g, o->change);  // flags first: nothing read or connected yet
    auto m = migration::load_migration_file(o->file);
    auto hooks = make_hooks(g);
    run::Runner runner(postgres_dialect(), connection_factory(g), options, hooks);
    hooks.log(fmt::format("start {}: {}", m.name, m.purpose));
    auto outcome = runner.start(m);
    auto rec = runner.state().find_applied(m.name);
    if (g.json) {
      const char* names[] = {"started", "resumed", "already_active", "already_applied"};
      print_json({{"migration", m.name},
                  {"outcome", names[static_cast<int>(outcome)]},
                  {"phase", rec ? rec->phase : ""},
                  {"seconds", rec ? rec->duration_seconds : -1}});
    } else if (outcome == run::StartOutcome::kStarted || outcome == run::StartOutcome::kResumed) {
      std::cout << fmt::format(
          "{} is active ({}): both app versions work. Next: 'colshift complete' "
          "once every app instance runs the new version, or 'colshift rollback'.\n",
          m.name, rec ? human_duration(rec->duration_seconds) : "");
    }
    return 0;
  };
}

}  // namespace colshift::cli
