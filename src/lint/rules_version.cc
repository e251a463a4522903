// PostgreSQL version gates: features a target version lacks, and releases
// with known bugs that matter to migrations.
#include <fmt/format.h>

#include "lint/rule_helpers.h"

namespace colshift::lint {

using ast::json;

namespace {

void unsupported(RuleContext& ctx, const char* feature, int since) {
  if (ctx.pg_version() >= since) return;
  ctx.report("unsupported-on-version",
             fmt::format("{} needs PostgreSQL {} or later; the target is {}.{}.", feature,
                         since / 10000, ctx.pg_version() / 10000, ctx.pg_version() % 100));
}

bool has_param(const json& tree, const char* name) { return ast::has_option(tree, "params", name); }

void check(RuleContext& ctx) {
  const auto& st = ctx.st();
  const json& t = st.tree;
  int v = ctx.pg_version();
  bool concurrent_build = (st.kind == "IndexStmt" && ast::flag(t, "concurrent")) ||
                          (st.kind == "ReindexStmt" && has_param(t, "concurrently"));
  if (concurrent_build && v >= 140000 && v < 140004) {
    ctx.report("concurrent-index-pg14-bug",
               fmt::format("PostgreSQL {}.{} can silently corrupt indexes built with CREATE INDEX "
                           "CONCURRENTLY or REINDEX CONCURRENTLY (fixed in 14.4).",
                           v / 10000, v % 100));
  }
  if (st.kind == "ReindexStmt" && has_param(t, "concurrently"))
    unsupported(ctx, "REINDEX CONCURRENTLY", 120000);
  if (st.kind == "MergeStmt") unsupported(ctx, "MERGE", 150000);
  if ((st.kind == "IndexStmt" && ast::flag(t, "nulls_not_distinct"))) {
    unsupported(ctx, "NULLS NOT DISTINCT", 150000);
  }
  if (st.kind == "CreateTrigStmt" && ast::flag(t, "replace"))
    unsupported(ctx, "CREATE OR REPLACE TRIGGER", 140000);
  for_each_alter(ctx, [&](const AlterCmd& c) {
    if (c.subtype == "AT_DetachPartition" &&
        ast::flag(ast::obj(c.def, "PartitionCmd"), "concurrent")) {
      unsupported(ctx, "DETACH PARTITION CONCURRENTLY", 140000);
    }
    if (c.subtype == "AT_SetAccessMethod") unsupported(ctx, "SET ACCESS METHOD", 150000);
    if (c.subtype == "AT_DropExpression") unsupported(ctx, "DROP EXPRESSION", 130000);
  });
  for_each_column_def(ctx, [&](const json& cd, const std::string&, bool) {
    if (column_has(cd, "CONSTR_GENERATED")) unsupported(ctx, "Generated columns", 120000);
  });
  if (st.kind == "AlterEnumStmt" && v < 120000 &&
      (ctx.state().in_transaction() || st.parent >= 0)) {
    ctx.report(
        "alter-enum-in-transaction",
        "Before PostgreSQL 12, ALTER TYPE ... ADD VALUE cannot run inside a transaction block.");
  }
}

}  // namespace

const RuleFamily& version_rules() {
  static const RuleFamily family{
      "versions",
      {
          {"concurrent-index-pg14-bug", Severity::kError,
           "PostgreSQL 14.0-14.3 can corrupt indexes built concurrently.",
           "A bug in 14.0 to 14.3 let CREATE INDEX CONCURRENTLY and REINDEX CONCURRENTLY miss rows "
           "that were "
           "updated during the build, silently corrupting the index. 14.4 fixed it; indexes built "
           "on the "
           "affected releases should be rebuilt.",
           "Upgrade to 14.4 or later before building indexes concurrently; check existing ones "
           "with amcheck.",
           "-- with --pg-version 14.2\nCREATE INDEX CONCURRENTLY i ON t (a);",
           "-- with --pg-version 14.4\nCREATE INDEX CONCURRENTLY i ON t (a);", ""},
          {"unsupported-on-version", Severity::kError,
           "The statement uses a feature the target PostgreSQL version lacks.",
           "Set the target with --pg-version, `lint.pg_version` in .colshift.yaml, or --db. "
           "colshift knows "
           "when REINDEX CONCURRENTLY (12), generated columns (12), DROP EXPRESSION (13), DETACH "
           "CONCURRENTLY (14), CREATE OR REPLACE TRIGGER (14), MERGE (15), SET ACCESS METHOD (15) "
           "and "
           "NULLS NOT DISTINCT (15) appeared.",
           "Use the older form, or raise the target version if the servers are newer.",
           "-- with --pg-version 11\nREINDEX INDEX CONCURRENTLY i;",
           "-- with --pg-version 12\nREINDEX INDEX CONCURRENTLY i;", ""},
          {"alter-enum-in-transaction", Severity::kError,
           "Before PostgreSQL 12, ALTER TYPE ... ADD VALUE fails inside a transaction block.",
           "PostgreSQL 11 rejects ADD VALUE inside BEGIN ... COMMIT; 12 allows it but the new "
           "value cannot be "
           "used until the transaction commits.",
           "Run ALTER TYPE ... ADD VALUE on its own, outside a transaction.",
           "-- with --pg-version 11\nBEGIN;\nALTER TYPE status ADD VALUE 'archived';\nCOMMIT;",
           "ALTER TYPE status ADD VALUE 'archived';", ""},
      },
      check};
  return family;
}

}  // namespace colshift::lint
