// Data changes inside migrations: whole-table UPDATE and DELETE.
#include <fmt/format.h>

#include "lint/rule_helpers.h"

namespace colshift::lint {

using ast::json;

namespace {

void check(RuleContext& ctx) {
  const auto& st = ctx.st();
  if (st.kind != "UpdateStmt" && st.kind != "DeleteStmt") return;
  std::string table = ast::relation_name(ast::obj(st.tree, "relation"));
  if (!ctx.live(table)) return;
  if (!touches_every_row(st.tree)) return;
  bool update = st.kind == "UpdateStmt";
  ctx.report(update ? "unbatched-update" : "unbatched-delete",
             fmt::format("{} of every row of \"{}\" in one statement locks all those rows until "
                         "commit{}, and produces one huge burst of WAL and dead tuples.",
                         update ? "UPDATE" : "DELETE", table,
                         update ? " (blocking concurrent updates of them)" : ""));
}

}  // namespace

const RuleFamily& data_rules() {
  static const RuleFamily family{
      "data",
      {
          {"unbatched-update", Severity::kWarning,
           "An UPDATE of a whole table runs as one huge transaction.",
           "Every row is locked until COMMIT, so concurrent updates of any of them wait; the table "
           "bloats "
           "with a dead copy of every row, and replicas fall behind on the WAL burst.",
           "Update in key-ordered batches of a few thousand rows, one short transaction each. "
           "colshift's "
           "`add_column` backfills this way from `up`.",
           "UPDATE users SET email_domain = split_part(email, '@', 2);",
           "UPDATE users SET email_domain = split_part(email, '@', 2) WHERE id > 0 AND id <= "
           "10000;",
           ""},
          {"unbatched-delete", Severity::kWarning,
           "A DELETE of a whole table runs as one huge transaction.",
           "Every row is locked until COMMIT and the table keeps the dead rows until vacuum; "
           "replicas lag.",
           "Delete in key-ordered batches, or TRUNCATE if the table is not live.",
           "DELETE FROM sessions;",
           "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions ORDER BY id LIMIT 5000);",
           ""},
      },
      check};
  return family;
}

}  // namespace colshift::lint
