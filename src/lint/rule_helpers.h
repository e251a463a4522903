// Shared walkers for the rule families: ALTER TABLE subcommands and the
// column definitions of CREATE TABLE / ADD COLUMN.
#pragma once

#include <string>

#include "lint/ast.h"
#include "lint/rules.h"

namespace colshift::lint {

struct AlterCmd {
  const ast::json& cmd;  // AlterTableCmd body
  std::string subtype;   // "AT_AddColumn", ...
  const ast::json& def;  // cmd["def"] or {}
  std::string table;     // the ALTER TABLE's relation
};

// Calls f(AlterCmd) for each subcommand when the statement is ALTER TABLE.
template <typename F>
void for_each_alter(const RuleContext& ctx, F&& f) {
  if (ctx.st().kind != "AlterTableStmt") return;
  static const ast::json kEmpty = ast::json::object();
  std::string table = ast::relation_name(ast::obj(ctx.st().tree, "relation"));
  const ast::json* cmds = ast::find(ctx.st().tree, "cmds");
  if (!cmds) return;
  for (const auto& item : *cmds) {
    const ast::json* cmd = ast::find(item, "AlterTableCmd");
    if (!cmd) continue;
    const ast::json* def = ast::find(*cmd, "def");
    f(AlterCmd{*cmd, ast::str(*cmd, "subtype"), def ? *def : kEmpty, table});
  }
}

// Calls f(column_def, table, is_new_table) for every column definition of a
// CREATE TABLE or ALTER TABLE ... ADD COLUMN.
template <typename F>
void for_each_column_def(const RuleContext& ctx, F&& f) {
  const auto& st = ctx.st();
  if (st.kind == "CreateStmt") {
    std::string table = ast::relation_name(ast::obj(st.tree, "relation"));
    for (const auto& elt : ast::arr(st.tree, "tableElts")) {
      if (const ast::json* cd = ast::find(elt, "ColumnDef")) f(*cd, table, true);
    }
  }
  for_each_alter(ctx, [&](const AlterCmd& c) {
    if (c.subtype != "AT_AddColumn") return;
    if (const ast::json* cd = ast::find(c.def, "ColumnDef")) f(*cd, c.table, false);
  });
}

// The objects a DROP names, quoted: "\"a\", \"s.b\"".
std::string object_names(const ast::json& drop_stmt);

// The constraint types ("CONSTR_NOTNULL", ...) on a ColumnDef.
bool column_has(const ast::json& column_def, const char* contype);
// The Constraint body of that type on a ColumnDef, or nullptr.
const ast::json* column_constraint(const ast::json& column_def, const char* contype);

}  // namespace colshift::lint
