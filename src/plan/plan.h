// A Plan is the ordered list of Steps that carries out one migration, with
// each step's lock, cost and inverse. The planner (planner.h) builds it from a
// Migration and CatalogFacts without touching a connection; the runner
// (run/runner.h) executes it; `plan`, `docs` and the state table's plan JSON
// are renderings of it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dialect/lock_mode.h"
#include "migration/hazards.h"

namespace colshift::plan {

// Phases of a migration's life (DESIGN.md). Steps belong to kExpand, kBackfill,
// kFinish or kComplete; kRollback steps undo them.
enum class Phase { kExpand, kBackfill, kFinish, kComplete, kRollback };
const char* phase_name(Phase p);

using LockMode = ::colshift::LockMode;  // dialect/lock_mode.h
const char* lock_name(LockMode m);
// Which everyday work waits while the lock is held, in the user's words.
const char* lock_blocks(LockMode m);

enum class StepKind {
  kTransactional,  // statements in one short transaction under SET LOCAL lock_timeout
  kConcurrent,     // statements run one by one outside a transaction (CONCURRENTLY)
  kCreateIndex,    // CREATE INDEX CONCURRENTLY, dropping an INVALID leftover first
  kBackfill,       // batched UPDATEs of existing rows (backfill/)
  kQuietCheck,     // complete's check that old app versions stopped writing
};

// Everything the backfill needs to fill one column of one table.
struct BackfillSpec {
  std::string schema;
  std::string table;
  std::string column;
  std::string type;
  std::string expression;                // the author's `up` (or volatile default)
  std::vector<std::string> key_columns;  // primary key, in order
  std::vector<std::string> key_types;
  std::string old_write_counter;  // sequence counting old-shape writes
  std::string old_write_last;     // sequence holding the last such write (epoch s)
};

// What one raw SQL statement does to one relation: the linter's facts
// (lint/facts.h), read by the dialect against the schema the facts describe.
struct RelationEffect {
  std::string relation;             // "schema.name"
  LockMode lock = LockMode::kNone;  // strongest lock held on it while the statement runs
  bool rewrites = false;            // rewritten into new files
  bool scans = false;               // every row read while `lock` is held
  // A table that exists before the migration and the app may use. False:
  // created earlier in the migration's raw SQL (new and empty), not there, or
  // not a table.
  bool live = true;
  long long rows = -1;  // row estimate; -1: unknown
  std::string note;     // why, in a few words ("int4 -> int8 is not binary coercible")
};

// A hazard of one statement on one live table (migration/hazards.h).
struct StatementHazard {
  migration::Hazard hazard = migration::Hazard::kRewritesTable;
  std::string relation;  // "schema.name"
  long long rows = -1;   // row estimate; -1: unknown
  bool allowed = false;  // named in the operation's allow_hazards
  // Start refuses the step: not allowed, and the table is not known to be empty.
  bool refused = false;
  std::string reason;   // what happens, in words ("rewrites public.users under ...")
  std::string instead;  // the safe way
};

// One statement of a raw_sql step (parallel to Step::sql or Step::undo).
struct RawStatement {
  std::string summary;  // the statement on one line, shortened
  std::vector<RelationEffect> relations;
  std::vector<StatementHazard> hazards;
  double estimate_seconds = 0;  // < 0: unknown
};

struct Step {
  Phase phase = Phase::kExpand;
  StepKind kind = StepKind::kTransactional;
  int operation = -1;   // index into Migration::operations
  std::string summary;  // one line in the user's words
  std::vector<std::string> sql;
  // SQL returning one row with true when the step's effect is already in place
  // (a re-run after a crash skips it); empty: always run (the SQL is idempotent).
  std::string done_check;
  std::string lock_table;  // "schema.table" the lock is taken on; empty: none
  LockMode lock = LockMode::kNone;
  bool rewrites = false;  // rewrites the table
  bool scans = false;     // reads every row
  // Whether `scans` happens while holding `lock` (true) or a weaker lock.
  double estimate_seconds = 0;  // < 0: unknown
  std::string estimate_note;
  std::optional<BackfillSpec> backfill;
  std::string index_name;    // kCreateIndex: "schema"."name" quoted
  std::string index_lookup;  // kCreateIndex: 'schema.name' for to_regclass
  // The inverse, run by rollback newest-first. Empty `undo` with
  // `undo_note` set means there is nothing to undo for this step.
  StepKind undo_kind = StepKind::kTransactional;
  std::vector<std::string> undo;
  LockMode undo_lock = LockMode::kNone;
  std::string undo_summary;
  // Undo only when the forward step was recorded done (raw_sql `down` is not
  // idempotent); colshift's own undo statements are and always run.
  bool undo_only_if_done = false;
  // raw_sql: what each statement of `sql` and of `undo` does, and where the
  // operation is in its file ("file:line:col"; refusals point there).
  std::vector<RawStatement> statements;
  std::vector<RawStatement> undo_statements;
  std::string where;
};

struct Plan {
  std::string migration;
  std::string purpose;
  std::string file;
  std::string checksum;
  int server_version = 0;
  bool offline = true;
  std::vector<Step> steps;         // expand, backfill, finish, complete, in order
  std::vector<std::string> notes;  // decisions the planner made, in words
  std::vector<std::string> warnings;

  // Indices of steps in `phase`, in order.
  std::vector<size_t> steps_in(Phase phase) const;
  bool needs_backfill() const;
};

nlohmann::json plan_to_json(const Plan& plan);
Plan plan_from_json(const nlohmann::json& j);

// The plan as the `plan` command prints it: steps by phase with lock, scan and
// rewrite facts, raw SQL statements with their hazards, estimates, then the
// rollback plan.
std::string render_plan_text(const Plan& plan);

// Pieces of that text, shared with the docs:
// "public.users: rewrites the table under ACCESS EXCLUSIVE (why)"
std::string relation_effect_text(const RelationEffect& r);
// "~1,000 rows", "empty", "size unknown"
std::string rows_text(long long rows);
// "allowed by allow_hazards", "not allowed: 'colshift start' refuses it", ...
std::string hazard_verdict(const StatementHazard& h);
// Each relation of `statements` once, with the strongest lock any statement
// holds on it and rewrites/scans OR-ed; strongest first, ties in order of
// first appearance.
std::vector<RelationEffect> table_locks(const std::vector<RawStatement>& statements);

// Throws Error(kBadInput) at the operation (Step::where) for the first hazard
// that start refuses (StatementHazard::refused), naming the statement, the
// table, its size, the hazard and the safe way; returns when there is none.
void refuse_hazards(const Plan& plan);

// The breaks_old_app hazards of the steps in `phases`, one line each:
// "step 2 renames column name of public.users (~1,000 rows) to full_name: ...".
std::vector<std::string> old_app_breaks(const Plan& plan, const std::vector<Phase>& phases);

}  // namespace colshift::plan
