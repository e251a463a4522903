// Index builds and drops: CONCURRENTLY, transactions, partitioned tables,
// INVALID leftovers.
#include <fmt/format.h>

#include "lint/rule_helpers.h"

namespace colshift::lint {

using ast::json;

namespace {

bool reindex_concurrently(const json& tree) {
  return ast::has_option(tree, "params", "concurrently");
}

void check_create_index(RuleContext& ctx) {
  const json& t = ctx.st().tree;
  std::string table = ast::relation_name(ast::obj(t, "relation"));
  std::string name = ast::str(t, "idxname");
  bool concurrent = ast::flag(t, "concurrent");
  bool only = !ast::flag(ast::obj(t, "relation"), "inh");
  int loc = ast::location(ast::obj(t, "relation"));
  if (!concurrent && ctx.live(table) && !(only && ctx.state().partitioned(table))) {
    ctx.report("create-index-non-concurrently",
               fmt::format("CREATE INDEX{} on live table \"{}\" blocks writes (SHARE lock) for the "
                           "whole build.",
                           name.empty() ? "" : " \"" + name + "\"", table),
               loc);
  }
  if (concurrent && ctx.state().partitioned(table)) {
    ctx.report("concurrent-index-partitioned",
               fmt::format("CREATE INDEX CONCURRENTLY is not supported on partitioned table \"{}\" "
                           "and fails.",
                           table),
               loc);
  }
  if (concurrent && ast::flag(t, "if_not_exists")) {
    ctx.report(
        "concurrently-if-not-exists",
        fmt::format("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"{}\" silently keeps an INVALID "
                    "index left by an earlier failed build.",
                    name),
        loc);
  }
  // Keyset pagination and sort indexes need every column they order by, up
  // to the key that breaks ties: an explicit ASC/DESC/NULLS or a trailing id
  // says that is what the index is for.
  const json& params = ast::arr(t, "indexParams");
  size_t columns = params.size();
  bool sort_index = false;
  for (const auto& p : params) {
    const json& e = ast::obj(p, "IndexElem");
    if (ast::str(e, "ordering") != "SORTBY_DEFAULT" && !ast::str(e, "ordering").empty())
      sort_index = true;
    if (ast::str(e, "nulls_ordering") != "SORTBY_NULLS_DEFAULT" &&
        !ast::str(e, "nulls_ordering").empty())
      sort_index = true;
  }
  if (columns > 0 && ast::str(ast::obj(params.back(), "IndexElem"), "name") == "id")
    sort_index = true;
  if (columns > 3 && !ast::flag(t, "unique") && !sort_index) {
    ctx.report("index-too-many-columns",
               fmt::format("Index{} on \"{}\" has {} columns; more than three rarely pays for its "
                           "size and write cost.",
                           name.empty() ? "" : " \"" + name + "\"", table, columns));
  }
}

void check(RuleContext& ctx) {
  const auto& st = ctx.st();
  const json& t = st.tree;
  if (st.kind == "IndexStmt") check_create_index(ctx);
  if (st.kind == "DropStmt" && ast::str(t, "removeType") == "OBJECT_INDEX" &&
      !ast::flag(t, "concurrent")) {
    bool live = false;
    for (const auto& r : ctx.facts().relations) live = live || !r.created_here;
    if (live) {
      ctx.report("drop-index-non-concurrently",
                 fmt::format("DROP INDEX {} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on "
                             "the index's table, blocking reads and writes behind any open "
                             "transaction.",
                             object_names(t)));
    }
  }
  if (st.kind == "ReindexStmt" && !reindex_concurrently(t) && ctx.pg_version() >= 120000) {
    ctx.report(
        "reindex-non-concurrently",
        "REINDEX without CONCURRENTLY blocks writes to the table (and reads that use the index) "
        "for the whole rebuild.");
  }
  bool concurrent = (st.kind == "IndexStmt" && ast::flag(t, "concurrent")) ||
                    (st.kind == "DropStmt" && ast::flag(t, "concurrent")) ||
                    (st.kind == "ReindexStmt" && reindex_concurrently(t));
  for_each_alter(ctx, [&](const AlterCmd& c) {
    if (c.subtype == "AT_DetachPartition" &&
        ast::flag(ast::obj(c.def, "PartitionCmd"), "concurrent")) {
      concurrent = true;
    }
  });
  bool in_tx = ctx.state().in_transaction() || (st.parent >= 0);
  if (concurrent && in_tx && ctx.executes()) {
    ctx.report("concurrently-in-transaction",
               ctx.state().in_runner_transaction() && st.parent < 0
                   ? "CONCURRENTLY cannot run inside a transaction block, and the migration "
                     "runner runs this file in one: PostgreSQL rejects it. Mark the file "
                     "no-transaction (see lint.transactions)."
                   : "CONCURRENTLY cannot run inside a transaction block (or a DO block or "
                     "function): PostgreSQL rejects it.");
  }
}

}  // namespace

const RuleFamily& index_rules() {
  static const RuleFamily family{
      "indexes",
      {
          {"create-index-non-concurrently", Severity::kError,
           "CREATE INDEX without CONCURRENTLY blocks writes to the table for the whole build.",
           "A plain CREATE INDEX takes a SHARE lock: reads continue but every INSERT, UPDATE and "
           "DELETE "
           "waits until the index is built, which on a big table takes minutes.",
           "CREATE INDEX CONCURRENTLY outside a transaction, then check pg_index.indisvalid. "
           "colshift's "
           "`create_index` operation does this and rebuilds an INVALID leftover.",
           "CREATE INDEX users_email_idx ON users (email);",
           "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
           "squawk: require-concurrent-index-creation; strong_migrations: add_index; eugene: E6; "
           "Atlas: PG101"},
          {"drop-index-non-concurrently", Severity::kWarning,
           "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table.",
           "The drop itself is quick, but the ACCESS EXCLUSIVE request queues behind every open "
           "transaction on the table and blocks all new queries while it waits.",
           "DROP INDEX CONCURRENTLY IF EXISTS, outside a transaction.",
           "DROP INDEX users_email_idx;", "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;",
           "squawk: require-concurrent-index-deletion; Atlas: PG103"},
          {"concurrently-in-transaction", Severity::kError,
           "CONCURRENTLY operations cannot run inside a transaction block.",
           "CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and DETACH PARTITION CONCURRENTLY "
           "commit "
           "internally several times; PostgreSQL refuses them inside BEGIN ... COMMIT, a DO block "
           "or a "
           "function.",
           "Run the statement on its own, outside any transaction (in colshift, a separate "
           "`create_index` "
           "or `raw_sql` step).",
           "BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;",
           "CREATE INDEX CONCURRENTLY i ON t (a);",
           "squawk: ban-concurrent-index-creation-in-transaction; Atlas: PG102"},
          {"concurrently-if-not-exists", Severity::kWarning,
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS keeps an INVALID index from an earlier failed "
           "build.",
           "When a concurrent build fails (deadlock, unique violation, cancel), it leaves an "
           "INVALID index "
           "behind. IF NOT EXISTS then sees the name and does nothing, so the index is never "
           "usable but "
           "still slows every write.",
           "Check pg_index.indisvalid and DROP INDEX CONCURRENTLY an invalid one before building "
           "again. "
           "colshift's `create_index` does this for you.",
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);",
           "DROP INDEX CONCURRENTLY IF EXISTS i;  -- only when invalid\nCREATE INDEX CONCURRENTLY "
           "i ON t (a);",
           ""},
          {"concurrent-index-partitioned", Severity::kError,
           "CREATE INDEX CONCURRENTLY fails on a partitioned table.",
           "PostgreSQL 11-17 cannot build an index concurrently on a partitioned parent.",
           "CREATE INDEX ... ON ONLY parent (invalid, instant); CREATE INDEX CONCURRENTLY on each "
           "partition; ALTER INDEX parent_idx ATTACH PARTITION each one; the parent index becomes "
           "valid.",
           "-- given: measurements is partitioned\nCREATE INDEX CONCURRENTLY m_at_idx ON "
           "measurements (at);",
           "CREATE INDEX m_at_idx ON ONLY measurements (at);\nCREATE INDEX CONCURRENTLY "
           "m_2024_at_idx ON measurements_2024 (at);\nALTER INDEX m_at_idx ATTACH PARTITION "
           "m_2024_at_idx;",
           ""},
          {"reindex-non-concurrently", Severity::kWarning,
           "REINDEX without CONCURRENTLY blocks writes for the whole rebuild.",
           "Plain REINDEX locks the table SHARE (no writes) and the index ACCESS EXCLUSIVE "
           "(queries that "
           "would use it wait). PostgreSQL 12 added REINDEX CONCURRENTLY.",
           "REINDEX INDEX CONCURRENTLY name, outside a transaction.",
           "REINDEX INDEX users_email_idx;", "REINDEX INDEX CONCURRENTLY users_email_idx;",
           "squawk: require-concurrent-reindex"},
          {"index-too-many-columns", Severity::kInfo,
           "An index with more than three columns rarely pays for itself.",
           "Wide indexes are large and slow every write; queries seldom use more than the leading "
           "columns.",
           "Index the leading columns that queries filter on; check pg_stat_user_indexes after "
           "deploy.",
           "CREATE INDEX CONCURRENTLY i ON t (a, b, c, d);",
           "CREATE INDEX CONCURRENTLY i ON t (a, b);", "strong_migrations: add_index_columns"},
      },
      check};
  return family;
}

}  // namespace colshift::lint
