// Static facts per statement: the lock taken on each relation, rewrite, full
// scan under that lock, and (via types.h) what it blocks. The tables follow
// PostgreSQL's documentation ("Explicit Locking", the ALTER TABLE and CREATE
// INDEX pages) for versions 11 to 17; tests check them against --trace.
#pragma once

#include <string>

#include "lint/ast.h"
#include "lint/file_state.h"
#include "lint/types.h"

namespace colshift::lint {

struct FactsOptions {
  int pg_version = 150000;
  std::string timezone;  // server TimeZone when known
};

// The effect of one ALTER TABLE subcommand on its table.
struct CommandFacts {
  LockMode lock = LockMode::kAccessExclusive;
  bool rewrite = false;
  bool scan = false;
  bool index_rebuild = false;
  std::string note;
};

// REQUIRES: `cmd` is an AlterTableCmd body; `table` the ALTER's relation.
CommandFacts alter_command_facts(const ast::json& cmd, const std::string& table,
                                 const FileState& state, const FactsOptions& options);

// Why ADD COLUMN rewrites the table, or "" when it does not.
// `functions`: the volatility of functions the file defined (may be null).
std::string add_column_rewrite_reason(const ast::json& column_def, int pg_version,
                                      const ast::UserFunctions* functions = nullptr);

// An UPDATE or DELETE (parse tree body) that touches every row of its table:
// no WHERE, WHERE true, or a join to another table and nothing else
// (UPDATE a SET ... FROM b WHERE a.id = b.id).
bool touches_every_row(const ast::json& tree);

StatementFacts compute_facts(const Statement& st, const FileState& state,
                             const FactsOptions& options);

}  // namespace colshift::lint
