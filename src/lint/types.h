// The vocabulary of colshift lint: positions, severities, lock modes, and the
// facts and findings the linter produces for one file.
//
// A lint run turns a file into a FileReport: its statements (with positions
// and parse trees), the static facts of every statement (which lock on which
// relation, rewrite, scan, what it blocks), and the findings of the rules.
// The JSON output (output_json.cc) is this structure; see docs/lint/README.md.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dialect/lock_mode.h"

namespace colshift::lint {

// 1-based line and column (column counts bytes), plus the 0-based byte offset.
struct Position {
  int line = 1;
  int column = 1;
  size_t offset = 0;
};

enum class Severity { kInfo, kWarning, kError };
const char* severity_name(Severity s);  // "info", "warning", "error"
// Parses "info", "warning"/"warn", "error"; nullopt otherwise.
std::optional<Severity> parse_severity(const std::string& text);

using LockMode = ::colshift::LockMode;  // dialect/lock_mode.h
// "AccessExclusiveLock" style, as pg_locks.mode spells it; "" for kNone.
const char* lock_name(LockMode m);
// "ACCESS EXCLUSIVE" style, as the documentation and LOCK TABLE spell it.
std::string lock_label(LockMode m);
// Inverse of lock_name; also accepts "ACCESS EXCLUSIVE" (LOCK TABLE syntax).
LockMode parse_lock_name(const std::string& text);
// True when a lock held in mode `held` makes a request for `wanted` wait.
bool locks_conflict(LockMode held, LockMode wanted);

// What everyday work waits behind a lock: SELECT (AccessShare), INSERT/
// UPDATE/DELETE (RowExclusive), and DDL/maintenance (ShareUpdateExclusive:
// VACUUM, ANALYZE, CREATE INDEX CONCURRENTLY, other ALTERs).
struct Blocks {
  bool reads = false;
  bool writes = false;
  bool ddl = false;
};
Blocks blocks_of(LockMode m);

// The effect of one statement on one relation.
struct RelationFact {
  std::string relation;  // as written, schema-qualified when it was
  LockMode lock = LockMode::kNone;
  bool rewrite = false;        // the table (or index) is rewritten into a new file
  bool new_file = false;       // it gets a new, empty file (TRUNCATE): nothing is copied
  bool scan = false;           // the whole table is read while the lock is held
  bool index_rebuild = false;  // indexes on it are rebuilt
  bool created_here = false;   // created earlier in this file: not live yet
  std::string note;            // why, in a few words ("SET NOT NULL proven by CHECK")
};

struct StatementFacts {
  std::vector<RelationFact> relations;
  bool in_transaction = true;  // false: cannot run inside a transaction block
  std::string lock_timeout;    // effective lock_timeout when it runs; "" if unset
  LockMode strongest() const;
  Blocks blocks() const;  // of the strongest lock on a live relation
};

// One SQL statement of a file (or of a PL/pgSQL body inside one).
struct Statement {
  size_t offset = 0;  // of the first token, in the file
  size_t length = 0;  // up to the end of the statement, without ';'
  Position start;
  std::string text;      // the statement's SQL
  std::string kind;      // the parse node name, e.g. "AlterTableStmt"
  nlohmann::json tree;   // the parse node's body ({} when it did not parse)
  size_t tree_base = 0;  // file offset that the tree's "location"s count from
  std::string error;     // syntax error message; empty when it parsed
  Position error_at;
  int parent = -1;                   // index of the DO/CREATE FUNCTION it is nested in
  std::vector<std::string> ignores;  // rule ids from "-- colshift:ignore" before it
  Position ignore_at;                // where that directive is
};

struct Finding {
  std::string rule;
  Severity severity = Severity::kWarning;
  std::string message;  // the danger, in one sentence
  std::string recipe;   // the safe way to do it
  int statement = -1;   // index into FileReport::statements; -1: whole file
  Position at;
};

struct FileReport {
  std::string path;
  std::string text;
  std::vector<Statement> statements;
  std::vector<StatementFacts> facts;  // parallel to statements
  std::vector<Finding> findings;      // sorted by position
  int pg_version = 0;                 // e.g. 150000
  bool skipped = false;               // colshift:ignore-file or excluded by config
  bool in_transaction = false;        // the runner runs the file in one transaction
  bool down = false;                  // a down migration (lint/runner.h)
};

}  // namespace colshift::lint
