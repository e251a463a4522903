// Whole-table operations: drops, renames, truncation, rewrites, explicit locks.
#include <fmt/format.h>

#include "lint/rule_helpers.h"

namespace colshift::lint {

using ast::json;

std::string object_names(const json& tree) {
  std::string out;
  for (const auto& obj : ast::arr(tree, "objects")) {
    auto parts = ast::strings(ast::arr(ast::obj(obj, "List"), "items"));
    if (parts.empty()) parts.push_back(ast::string_value(obj));
    std::string name = ast::dotted(parts);
    out += (out.empty() ? "" : ", ") + std::string("\"") + name + "\"";
  }
  return out;
}

namespace {

void check_rewrites(RuleContext& ctx) {
  for_each_alter(ctx, [&](const AlterCmd& c) {
    if (!ctx.live(c.table)) return;
    const char* what = nullptr;
    if (c.subtype == "AT_SetLogged") what = "SET LOGGED";
    if (c.subtype == "AT_SetUnLogged") what = "SET UNLOGGED";
    if (c.subtype == "AT_SetTableSpace") what = "SET TABLESPACE";
    if (c.subtype == "AT_SetAccessMethod") what = "SET ACCESS METHOD";
    if (!what) return;
    ctx.report(
        "table-rewrite",
        fmt::format("{} copies all of \"{}\" into new files while holding an ACCESS EXCLUSIVE "
                    "lock that blocks reads and writes.",
                    what, c.table));
  });
  const auto& st = ctx.st();
  if (st.kind == "VacuumStmt" || st.kind == "ClusterStmt") {
    for (const auto& r : ctx.facts().relations) {
      if (!r.rewrite || r.created_here) continue;
      ctx.report(
          "vacuum-full-or-cluster",
          fmt::format("{} rewrites \"{}\" under an ACCESS EXCLUSIVE lock that blocks reads and "
                      "writes for the whole rewrite.",
                      st.kind == "ClusterStmt" ? "CLUSTER" : "VACUUM FULL", r.relation));
    }
  }
  if (st.kind == "RefreshMatViewStmt" && !ast::flag(st.tree, "concurrent")) {
    std::string name = ast::relation_name(ast::obj(st.tree, "relation"));
    if (ctx.live(name)) {
      ctx.report(
          "refresh-matview-not-concurrently",
          fmt::format("REFRESH MATERIALIZED VIEW \"{}\" without CONCURRENTLY blocks every read "
                      "of it until the refresh ends.",
                      name));
    }
  }
}

void check(RuleContext& ctx) {
  const auto& st = ctx.st();
  const json& t = st.tree;
  check_rewrites(ctx);
  if (st.kind == "DropStmt") {
    std::string type = ast::str(t, "removeType");
    if (type == "OBJECT_TABLE") {
      bool any_live = false;
      for (const auto& r : ctx.facts().relations) any_live = any_live || !r.created_here;
      if (any_live) {
        ctx.report("drop-table",
                   fmt::format("Dropping table {} destroys its data and breaks running "
                               "code that still uses it.",
                               object_names(t)));
      }
    } else if (type == "OBJECT_SCHEMA") {
      ctx.report("drop-schema",
                 fmt::format("Dropping schema {} destroys everything in it.", object_names(t)));
    }
  } else if (st.kind == "DropdbStmt") {
    ctx.report("drop-database", fmt::format("Dropping database \"{}\" destroys all of its data.",
                                            ast::str(t, "dbname")));
  } else if (st.kind == "RenameStmt" && ast::str(t, "renameType") == "OBJECT_TABLE") {
    std::string table = ast::relation_name(ast::obj(t, "relation"));
    if (ctx.live(table)) {
      ctx.report("rename-table",
                 fmt::format("Renaming table \"{}\" to \"{}\" breaks every running query "
                             "and app version that uses the old name.",
                             table, ast::str(t, "newname")));
    }
  } else if (st.kind == "TruncateStmt") {
    bool cascade = ast::str(t, "behavior") == "DROP_CASCADE";
    // The live tables it empties, by name; one created in this file is empty anyway.
    std::string live;
    for (const auto& r : ctx.facts().relations) {
      if (!r.created_here) live += (live.empty() ? "\"" : ", \"") + r.relation + "\"";
    }
    if (cascade) {
      ctx.report("truncate-cascade",
                 fmt::format("TRUNCATE ... CASCADE of {} also empties every table that "
                             "references it, whichever they are at run time.",
                             live.empty() ? std::string("these tables") : live));
    } else if (!live.empty()) {
      ctx.report("truncate",
                 fmt::format("TRUNCATE deletes every row of {} under an ACCESS EXCLUSIVE lock "
                             "(the table gets a new, empty file).",
                             live));
    }
  } else if (st.kind == "LockStmt") {
    auto mode = static_cast<LockMode>(std::clamp(t.value("mode", 8), 1, 8));
    if (mode >= LockMode::kShare) {
      ctx.report(
          "lock-table",
          fmt::format("LOCK TABLE in {} mode blocks {} until the transaction ends.",
                      lock_label(mode), blocks_of(mode).reads ? "reads and writes" : "writes"));
    }
  }
}

}  // namespace

const RuleFamily& table_rules() {
  static const RuleFamily family{
      "tables",
      {
          {"drop-table", Severity::kWarning,
           "Dropping a table destroys its data and breaks running code that still uses it.",
           "DROP TABLE takes ACCESS EXCLUSIVE and removes the data for good; app versions still "
           "querying "
           "it fail.",
           "Stop all use of the table in code and deploy first; keep a backup or rename it aside "
           "for a "
           "release before dropping.",
           "DROP TABLE old_events;", "-- after no code uses it: DROP TABLE old_events;",
           "squawk: ban-drop-table; Atlas: DS102"},
          {"drop-schema", Severity::kWarning, "Dropping a schema destroys everything in it.",
           "DROP SCHEMA removes every table, view and function inside (with CASCADE) or fails.",
           "Drop the objects one by one after checking nothing uses them.",
           "DROP SCHEMA legacy CASCADE;", "-- drop objects individually", "Atlas: DS101"},
          {"drop-database", Severity::kError, "Dropping a database destroys all of its data.",
           "DROP DATABASE cannot run in a transaction and cannot be undone.",
           "Never drop databases from a migration; do it by hand after a backup.",
           "DROP DATABASE app;", "-- not in a migration", "squawk: ban-drop-database"},
          {"rename-table", Severity::kWarning,
           "Renaming a table breaks running code that uses the old name.",
           "RENAME is instant but no app version deployed before it can find the table afterwards.",
           "Create the new name as an updatable view first (CREATE VIEW new AS SELECT * FROM old), "
           "move "
           "code, then swap: rename the table and drop the view in one transaction.",
           "ALTER TABLE users RENAME TO accounts;", "CREATE VIEW accounts AS SELECT * FROM users;",
           "squawk: renaming-table; strong_migrations: rename_table; Atlas: BC101"},
          {"truncate", Severity::kWarning,
           "TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock.",
           "TRUNCATE is instant but takes ACCESS EXCLUSIVE (waiting behind every open transaction "
           "on the "
           "table, and blocking everything behind it) and loses the data.",
           "Delete in batches if the table is live, or make sure the data is really disposable.",
           "TRUNCATE sessions;", "DELETE FROM sessions WHERE id BETWEEN 1 AND 10000;", ""},
          {"truncate-cascade", Severity::kError,
           "TRUNCATE ... CASCADE empties every table that references the target.",
           "Which tables are emptied depends on the foreign keys present at run time, not on what "
           "the "
           "author saw; a new reference can silently widen it.",
           "Name every table to truncate explicitly.", "TRUNCATE users CASCADE;",
           "TRUNCATE users, sessions;", "squawk: ban-truncate-cascade"},
          {"table-rewrite", Severity::kError,
           "SET LOGGED/UNLOGGED, SET TABLESPACE and SET ACCESS METHOD copy the whole table under "
           "an ACCESS EXCLUSIVE lock.",
           "These forms write a full new copy of the table (and for SET LOGGED all of it into WAL) "
           "while "
           "blocking reads and writes until it finishes.",
           "Create a new table with the wanted property, copy and dual-write into it in batches, "
           "then "
           "swap; for tablespaces consider pg_repack.",
           "ALTER TABLE events SET LOGGED;", "-- build a copy and swap it in", ""},
          {"vacuum-full-or-cluster", Severity::kError,
           "VACUUM FULL and CLUSTER rewrite the table under an ACCESS EXCLUSIVE lock.",
           "Both write a complete new copy of the table and its indexes, blocking reads and "
           "writes.",
           "Use pg_repack or pg_squeeze, which rebuild online; plain VACUUM does not block.",
           "VACUUM FULL events;", "VACUUM events;", "squawk: prefer-repack"},
          {"refresh-matview-not-concurrently", Severity::kWarning,
           "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks all reads of the view.",
           "A plain refresh takes ACCESS EXCLUSIVE on the view for the whole query. CONCURRENTLY "
           "takes "
           "EXCLUSIVE (reads continue) and needs a unique index on the view.",
           "Create a unique index on the view once, then REFRESH MATERIALIZED VIEW CONCURRENTLY.",
           "REFRESH MATERIALIZED VIEW daily_totals;",
           "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_totals;", ""},
          {"lock-table", Severity::kWarning,
           "An explicit LOCK TABLE blocks other sessions until the transaction ends.",
           "LOCK TABLE in SHARE mode or stronger blocks writes (ACCESS EXCLUSIVE also reads) for "
           "the rest "
           "of the transaction, however long that is.",
           "Take the weakest lock that does the job, set lock_timeout first and keep the "
           "transaction short.",
           "LOCK TABLE users IN ACCESS EXCLUSIVE MODE;",
           "SET lock_timeout = '1s';\nLOCK TABLE users IN SHARE UPDATE EXCLUSIVE MODE;", ""},
      },
      check};
  return family;
}

}  // namespace colshift::lint
