// The linter's entry points: SQL text or a file in, a FileReport out.
//
// Nothing here throws for bad SQL (it becomes a syntax-error finding); files
// that cannot be read, and bad configuration, throw Error(kBadInput).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lint/config.h"
#include "lint/facts.h"
#include "lint/file_state.h"
#include "lint/types.h"

namespace colshift::lint {

// The PostgreSQL version assumed when neither --pg-version, the config nor
// --db says otherwise: that of the parser (libpg_query), whose grammar is the
// one the files are read with (parse.cc checks that the two agree).
constexpr int kDefaultPgVersion = 150000;

struct LintOptions {
  int pg_version = 0;  // --pg-version; 0: config, then catalog, then the default
  LintConfig config;
  Catalog catalog;                              // from --db; empty offline
  bool assume_lock_timeout = false;             // the runner sets lock_timeout (colshift steps do)
  std::optional<TransactionMode> transactions;  // --transactions; unset: config, then auto
  std::optional<DownMode> down;                 // --down; unset: config, then info
  // Keep each Statement's parse tree in the report (trace mode reads them).
  // Without it the trees are freed as soon as the file is linted.
  bool keep_trees = true;

  // The version to lint for, after the fallbacks above.
  int effective_pg_version() const;
  TransactionMode effective_transactions() const;
  DownMode effective_down() const;
};

// Lints SQL text. `path` is used for messages only.
FileReport lint_sql(const std::string& path, const std::string& text, const LintOptions& options);

// The facts (report.facts) and rule findings of report.statements, which
// parse_sql read from report.text, continuing from what `state` has seen; each
// statement is applied to `state`. Findings are not yet filtered by ignore
// directives or the config. lint_sql is parse_sql, this, and the end-of-file
// checks; colshift's raw_sql planner calls it to read a migration's raw SQL
// one operation after another with one FileState.
void lint_statements(FileReport& report, const FactsOptions& options, FileState& state);

// Lints one file: .yaml/.yml/.json as a colshift migration, anything else as
// SQL. Throws Error(kBadInput) when it cannot be read.
FileReport lint_file(const std::string& path, const LintOptions& options);

// Lints `files` on up to `jobs` threads (0: one per core); the reports come
// back in the order of `files`. If a file cannot be read, the error of the
// first such file (in that order) is thrown after the others finish.
std::vector<FileReport> lint_files(const std::vector<std::string>& files,
                                   const LintOptions& options, unsigned jobs = 0);

// The files to lint for command-line `paths`: files as given, directories
// searched recursively for .sql files and for .yaml, .yml and .json files
// that are colshift migrations (a top-level `operations` key); excluded paths
// and hidden directories skipped; sorted within each directory.
std::vector<std::string> collect_files(const std::vector<std::string>& paths,
                                       const LintConfig& config);

// True when a finding of error severity is left.
bool has_errors(const FileReport& report);

}  // namespace colshift::lint
