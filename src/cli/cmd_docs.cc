#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/common.h"
#include "dialect/dialect.h"
#include "docs/docs.h"
#include "migration/migration.h"
#include "plan/planner.h"
#include "state/state.h"
#include "util/text.h"

namespace colshift::cli {
namespace {

namespace fs = std::filesystem;

// Event kinds the run log names (progress milestones and index bookkeeping
// are in `colshift events`, not in the record).
bool logged_kind(const std::string& kind) {
  static const std::set<std::string> kinds = {
      "started", "phase",           "resumed",  "failed", "interrupted",  "paused",
      "aborted", "abort_requested", "throttle", "guard",  "index_failed", "guard_watch"};
  return kinds.count(kind) > 0;
}

std::string event_line(const state::RunEvent& e) {
  const auto& d = e.detail;
  std::string what;
  if (e.kind == "started") {
    what = "started";
  } else if (e.kind == "phase") {
    what = "phase " + d.value("phase", "?");
  } else if (e.kind == "resumed") {
    what = d.contains("phase") ? "resumed from phase " + d.value("phase", "?") : "backfill resumed";
  } else if (e.kind == "failed" || e.kind == "interrupted") {
    what = fmt::format("{} during {}: {}", e.kind, d.value("during", "?"), d.value("error", ""));
  } else if (e.kind == "guard" || e.kind == "guard_watch") {
    what = fmt::format("guard {} → {} ({}; {})", d.value("guard", ""), d.value("decision", ""),
                       d.value("reason", ""), d.value("stage", ""));
  } else if (e.kind == "throttle") {
    what = "throttle set: " + d.value("set", "");
  } else if (e.kind == "index_failed") {
    what = fmt::format("index {} failed: {}", d.value("index", ""), d.value("error", ""));
  } else {
    what = e.kind;
  }
  std::string by = d.value("by", "");
  return fmt::format("{} UTC: {}{}", e.at.substr(0, 19), what, by.empty() ? "" : " — by " + by);
}

// Seconds each recorded step took: from the previous mark (a step done, the
// start, a resume, a phase change) to its own record.
std::map<int, double> step_seconds(const std::map<int, double>& done_at,
                                   const std::vector<double>& marks) {
  std::vector<double> all = marks;
  for (const auto& [step, t] : done_at) all.push_back(t);
  std::sort(all.begin(), all.end());
  std::map<int, double> out;
  for (const auto& [step, t] : done_at) {
    double prev = 0;
    for (double m : all)
      if (m < t) prev = m;
    out[step] = t - prev;
  }
  return out;
}

struct Generated {
  std::string text;
  // A pending migration's page carries live estimates: --check compares its
  // file line (the migration file it documents), not the whole page.
  bool pending = false;
};

std::string file_line(const std::string& page) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("File: ", 0) == 0) return line;
  return {};
}

std::string read_file_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

CommandRun setup_docs(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    std::string dir = "migrations";
    std::string out = "docs/migrations";
    bool offline = false;
    bool check = false;
    std::string tables = "all";
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("DIR", o->dir, "directory of migration files")->capture_default_str();
  sub.add_option("--out", o->out, "where to write the markdown")->capture_default_str();
  sub.add_flag("--offline", o->offline,
               "do not read the database (no records, no table pages, plans as plan --offline)");
  sub.add_flag("--check", o->check,
               "write nothing; exit 1 when the pages in --out differ from what docs would write "
               "now (for CI)");
  sub.add_option("--tables", o->tables,
                 "which tables get a page: all (every user table) or touched (those a migration "
                 "in DIR touches)")
      ->check(CLI::IsMember({"all", "touched"}))
      ->capture_default_str();
  return [o, &g]() -> int {
    const Dialect& d = postgres_dialect();
    std::unique_ptr<Connection> conn;
    std::unique_ptr<state::StateStore> store;
    if (!o->offline && !g.database_url().empty()) {
      conn = connect_db(g);
      conn->exec("SET TimeZone = 'UTC'");  // the same record from any machine
      store = std::make_unique<state::StateStore>(*conn, g.schema);
      if (!store->initialized()) store.reset();
    }
    std::map<std::string, Generated> pages;  // relative path -> content
    std::vector<docs::IndexEntry> index;

    struct Documented {
      migration::Migration m;
      plan::Plan p;
      std::optional<state::MigrationRecord> rec;
      std::vector<std::string> run_log;
      docs::PageRecord record;
      std::vector<std::string> touched;
    };
    std::vector<Documented> all;
    std::vector<state::MigrationRecord> history;
    if (store) history = store->history();
    for (const auto& f : migration::list_migration_files(o->dir)) {
      Documented doc;
      doc.m = migration::load_migration_file(f);
      const auto& m = doc.m;
      if (store) doc.rec = store->find_applied(m.name);
      if (doc.rec) {
        doc.p = plan::plan_from_json(doc.rec->plan);  // what actually ran
      } else if (conn) {
        try {
          doc.p = plan::build_plan(m, d.gather_facts(*conn, m), d, g.schema);
        } catch (const Error& e) {
          // Often a table an earlier pending migration creates: document the
          // offline plan, and say why.
          doc.p = plan::build_plan(m, d.offline_facts(m), d, g.schema);
          doc.p.notes.insert(doc.p.notes.begin(), "not planned against the database: " +
                                                      error_location(e) + ": " + e.what());
        }
      } else {
        doc.p = plan::build_plan(m, d.offline_facts(m), d, g.schema);
      }
      doc.touched = plan::affected_relations(doc.p);
      // Every attempt, oldest first: who ran what, phases, pauses, guard
      // decisions, failures.
      if (store) {
        for (auto it = history.rbegin(); it != history.rend(); ++it) {
          const auto& h = *it;
          if (h.name != m.name) continue;
          doc.run_log.push_back(fmt::format("attempt {}, started {} by {}: ended {}{}", h.id,
                                            h.started_at, h.applied_by, h.phase,
                                            h.error.empty() ? "" : " (" + h.error + ")"));
          for (const auto& e : store->run_events(h.id))
            if (logged_kind(e.kind) && e.kind != "started") doc.run_log.push_back(event_line(e));
        }
      }
      if (doc.rec && store) {
        std::vector<double> marks;
        std::map<int, double> done_at;
        for (const auto& [step, t] : store->step_offsets(doc.rec->id)) done_at[step] = t;
        for (double t : store->event_offsets(doc.rec->id, {"started", "resumed", "phase"}))
          marks.push_back(t);
        doc.record.step_seconds = step_seconds(done_at, marks);
        if (auto b = store->schema_snapshot(doc.rec->id, "before"))
          doc.record.before = snapshot_from_json(*b);
        const bool finished = doc.rec->phase == state::kCompleted;
        if (auto a = store->schema_snapshot(doc.rec->id, "after"); a && finished) {
          doc.record.after = snapshot_from_json(*a);
        } else {
          // Active: the shape now. Finished with no shape recorded (an older
          // colshift applied it): the tables it touches, as they are now.
          doc.record.after = d.describe_tables(*conn, doc.touched);
          doc.record.after_live = !finished;
        }
      } else if (conn) {
        doc.record.after = d.describe_tables(*conn, doc.touched);  // pending: as it is now
      }
      all.push_back(std::move(doc));
    }

    // Table pages: every user table (or those a migration touches), as the
    // catalog has it now, with the migrations that touched it.
    std::vector<TableShape> shapes;
    if (conn) {
      std::vector<std::string> names;
      if (o->tables == "all") {
        names = d.list_tables(*conn, {g.schema});
      } else {
        std::set<std::string> touched;
        for (const auto& doc : all) touched.insert(doc.touched.begin(), doc.touched.end());
        names.assign(touched.begin(), touched.end());
      }
      shapes = d.describe_tables(*conn, names).tables;
    }
    std::set<std::string> table_pages;
    for (const auto& t : shapes) table_pages.insert(t.name);
    for (const auto& t : shapes) {
      std::vector<docs::TouchedBy> by;
      for (const auto& doc : all) {
        if (std::find(doc.touched.begin(), doc.touched.end(), t.name) == doc.touched.end())
          continue;
        by.push_back(
            {doc.m.name, doc.rec ? doc.rec->phase : "pending", "../" + doc.m.name + ".md"});
      }
      pages[docs::table_page_path(t.name)] = {docs::table_page(t, by), false};
    }
    std::vector<std::string> table_names(table_pages.begin(), table_pages.end());
    for (auto& doc : all) {
      doc.record.table_pages = table_pages;
      std::string page = doc.m.name + ".md";
      pages[page] = {docs::migration_page(doc.p, doc.rec, doc.run_log, doc.record), !doc.rec};
      index.push_back({doc.m.name, doc.m.purpose, doc.rec ? doc.rec->phase : "pending", page});
    }
    pages["README.md"] = {docs::index_page(index, table_names), false};

    const fs::path out(o->out);
    if (o->check) {
      nlohmann::json stale = nlohmann::json::array();
      for (const auto& [rel, gen] : pages) {
        const fs::path path = out / rel;
        std::string reason;
        if (!fs::exists(path)) {
          reason = "missing";
        } else {
          std::string have = read_file_text(path);
          if (gen.pending ? file_line(have) != file_line(gen.text) : have != gen.text)
            reason = "out of date";
        }
        if (!reason.empty()) stale.push_back({{"file", path.string()}, {"reason", reason}});
      }
      // Pages docs would no longer write (a table dropped, a migration renamed).
      for (const fs::path& dir : {out, out / "tables"}) {
        // Without a database the tables are unknown: their pages stay as they are.
        if (!fs::is_directory(dir) || (!conn && dir == out / "tables")) continue;
        for (const auto& entry : fs::directory_iterator(dir)) {
          if (!entry.is_regular_file() || entry.path().extension() != ".md") continue;
          std::string rel = fs::relative(entry.path(), out).generic_string();
          if (!pages.count(rel))
            stale.push_back({{"file", entry.path().string()}, {"reason", "no longer generated"}});
        }
      }
      if (g.json) {
        print_json({{"up_to_date", stale.empty()}, {"stale", stale}, {"pages", pages.size()}});
      } else if (stale.empty()) {
        std::cout << fmt::format("docs in {} are up to date ({} pages)\n", o->out, pages.size());
      } else {
        std::cout << fmt::format("docs in {} are out of date ({} of {} pages):\n", o->out,
                                 stale.size(), pages.size());
        for (const auto& s : stale)
          std::cout << fmt::format("  {}: {}\n", s["file"].get<std::string>(),
                                   s["reason"].get<std::string>());
        std::cout << fmt::format("run 'colshift docs {} --out {}' and commit the result\n", o->dir,
                                 o->out);
      }
      return stale.empty() ? kExitOk : kExitChangeFailed;
    }

    fs::create_directories(out);
    if (!shapes.empty()) fs::create_directories(out / "tables");
    nlohmann::json written = nlohmann::json::array();
    for (const auto& [rel, gen] : pages) {
      std::ofstream(out / rel, std::ios::binary) << gen.text;
      if (rel != "README.md") written.push_back((out / rel).string());
    }
    // A table page whose table is gone would read as current: remove it
    // (without a database the tables are unknown: their pages stay).
    if (conn && fs::is_directory(out / "tables")) {
      for (const auto& entry : fs::directory_iterator(out / "tables")) {
        std::string rel = fs::relative(entry.path(), out).generic_string();
        if (entry.is_regular_file() && entry.path().extension() == ".md" && !pages.count(rel))
          fs::remove(entry.path());
      }
    }
    if (g.json) {
      print_json({{"written", written}, {"index", (out / "README.md").string()}});
    } else {
      std::cout << fmt::format("wrote {} migration page{}, {} table page{} and an index to {}\n",
                               index.size(), index.size() == 1 ? "" : "s", shapes.size(),
                               shapes.size() == 1 ? "" : "s", o->out);
    }
    return 0;
  };
}

}  // namespace colshift::cli
