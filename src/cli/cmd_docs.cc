#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/common.h"
#include "dialect/dialect.h"
#include "docs/docs.h"
#include "migration/migration.h"
#include "plan/planner.h"
#include "state/state.h"

namespace colshift::cli {

CommandRun setup_docs(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    std::string dir = "migrations";
    std::string out = "docs/migrations";
    bool offline = false;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("DIR", o->dir, "directory of migration files")->capture_default_str();
  sub.add_option("--out", o->out, "where to write the markdown")->capture_default_str();
  sub.add_flag("--offline", o->offline,
               "do not read the database (no records, sizes unknown, plans as plan --offline)");
  return [o, &g]() -> int {
    namespace fs = std::filesystem;
    const Dialect& d = postgres_dialect();
    std::unique_ptr<Connection> conn;
    std::unique_ptr<state::StateStore> store;
    if (!o->offline && !g.database_url().empty()) {
      conn = connect_db(g);
      store = std::make_unique<state::StateStore>(*conn, g.schema);
      if (!store->initialized()) store.reset();
    }
    fs::create_directories(o->out);
    std::vector<docs::IndexEntry> index;
    nlohmann::json written = nlohmann::json::array();
    for (const auto& f : migration::list_migration_files(o->dir)) {
      auto m = migration::load_migration_file(f);
      std::optional<state::MigrationRecord> rec;
      if (store) rec = store->find_applied(m.name);
      plan::Plan p;
      if (rec) {
        p = plan::plan_from_json(rec->plan);  // what actually ran
      } else if (conn) {
        try {
          p = plan::build_plan(m, d.gather_facts(*conn, m), d, g.schema);
        } catch (const Error& e) {
          // Often a table an earlier pending migration creates: document the
          // offline plan, and say why.
          p = plan::build_plan(m, d.offline_facts(m), d, g.schema);
          p.notes.insert(p.notes.begin(), "not planned against the database: " + error_location(e) +
                                              ": " + e.what());
        }
      } else {
        p = plan::build_plan(m, d.offline_facts(m), d, g.schema);
      }
      std::string page = m.name + ".md";
      // The attempts of this migration a guard acted on or that were rolled
      // back: how each ended, and every guard decision (a page of a plain
      // applied migration stays as it was).
      std::vector<std::string> run_log;
      if (store) {
        for (const auto& h : store->history()) {
          if (h.name != m.name) continue;
          auto decisions = store->guard_decisions(h.id);
          if (decisions.empty() && h.phase != state::kRolledBack) continue;
          run_log.push_back(fmt::format("attempt {} started {} by {}: {}{}", h.id, h.started_at,
                                        h.applied_by, h.phase,
                                        h.error.empty() ? "" : " (" + h.error + ")"));
          for (const auto& [at, dec] : decisions) {
            run_log.push_back(fmt::format("{}: guard {} → {} ({}; {})", at, dec.value("guard", ""),
                                          dec.value("decision", ""), dec.value("reason", ""),
                                          dec.value("stage", "")));
          }
        }
      }
      std::ofstream(fs::path(o->out) / page) << docs::migration_page(p, rec, run_log);
      index.push_back({m.name, m.purpose, rec ? rec->phase : "pending", page});
      written.push_back((fs::path(o->out) / page).string());
    }
    std::ofstream(fs::path(o->out) / "README.md") << docs::index_page(index);
    if (g.json) {
      print_json({{"written", written}, {"index", (fs::path(o->out) / "README.md").string()}});
    } else {
      std::cout << fmt::format("wrote {} page{} and an index to {}\n", index.size(),
                               index.size() == 1 ? "" : "s", o->out);
    }
    return 0;
  };
}

}  // namespace colshift::cli
