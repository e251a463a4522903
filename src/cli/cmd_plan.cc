#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "dialect/dialect.h"
#include "migration/migration.h"
#include "plan/planner.h"

namespace colshift::cli {

CommandRun setup_plan(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    std::string file;
    bool offline = false;
    ChangeOptions change;  // --subscriber only
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("FILE", o->file, "migration file")->required();
  sub.add_flag("--offline", o->offline,
               "plan without a database (sizes unknown, PostgreSQL 15 assumed, functions in a "
               "default volatile unless built in; the plan's notes say what was assumed)");
  add_downstream_options(sub, o->change, false);
  return [o, &g]() -> int {
    auto m = migration::load_migration_file(o->file);
    const Dialect& d = postgres_dialect();
    plan::CatalogFacts facts;
    bool offline = o->offline || (g.database_url().empty() && !std::getenv("PGHOST") &&
                                  !std::getenv("PGDATABASE") && !std::getenv("PGPORT"));
    if (offline) {
      facts = d.offline_facts(m);
    } else {
      auto conn = connect_db(g);
      facts = d.gather_facts(*conn, m);
      facts.subscribers =
          run::read_subscribers(d, m, facts, subscriber_connections(m, o->change.subscribers));
    }
    auto p = plan::build_plan(m, facts, d, g.schema);
    if (g.json) {
      print_json(plan::plan_to_json(p));
    } else {
      std::cout << plan::render_plan_text(p);
    }
    return 0;
  };
}

}  // namespace colshift::cli
