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
  int pg_version = 170000;
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
std::string add_column_rewrite_reason(const ast::json& column_def, int pg_version);

StatementFacts compute_facts(const Statement& st, const FileState& state,
                             const FactsOptions& options);

}  // namespace colshift::lint
