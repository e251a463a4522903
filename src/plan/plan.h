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
#include "guard/guard.h"
#include "migration/hazards.h"
#include "plan/facts.h"

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
  kTransactional,    // statements in one short transaction under SET LOCAL lock_timeout
  kConcurrent,       // statements run one by one outside a transaction (CONCURRENTLY)
  kCreateIndex,      // CREATE INDEX CONCURRENTLY, dropping an INVALID leftover first
  kBackfill,         // batched UPDATEs of existing rows (backfill/)
  kQuietCheck,       // complete's check that old app versions stopped writing
  kFillMissing,      // complete: fill rows still without a value (NOT NULL columns), or refuse
  kCheckConstraint,  // sql[0] adds a CHECK NOT VALID, sql[1] validates it; dropped on failure
};

// One new column the backfill fills: `expression` is the author's `up` (or a
// volatile default), computed once per row that has no value yet.
struct BackfillColumn {
  std::string column;
  std::string type;
  std::string expression;
  bool not_null = false;  // a NULL from `expression` is an error, not a value
  std::string check;      // the column's CHECK, if any: start's pre-flight tries it too
};

// Everything the backfill needs to fill the new columns of one table in one
// pass over its primary key.
struct BackfillSpec {
  std::string schema;
  std::string table;
  std::vector<BackfillColumn> columns;
  std::vector<std::string> key_columns;  // primary key, in order
  std::vector<std::string> key_types;
};

// The dual-write trigger's counters for one new column, read by complete's
// old-writer check and by status: sequences in colshift's schema (sequences
// never block the writers that bump them).
struct WriterCounters {
  std::string table;
  std::string column;
  std::string old_writes;        // old-version writes (count)
  std::string old_write_last;    // epoch milliseconds of the latest old-version write
  std::string trigger_failures;  // writes whose `up` failed or gave NULL inside the trigger
};

// Ranks of complete-phase steps (Step::rank): every check before any
// contract, so a refusal never leaves one change contracted and another not.
inline constexpr int kCompleteRankQuietCheck = 0;
inline constexpr int kCompleteRankFill = 1;
inline constexpr int kCompleteRankConstraint = 2;
inline constexpr int kCompleteRankContract = 3;

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

// A column that a raw statement drops or renames.
struct ColumnEdit {
  std::string relation;  // "schema.name"
  std::string column;
  std::string renamed_to;  // empty: dropped
};

// One statement of a raw_sql step (parallel to Step::sql or Step::undo).
struct RawStatement {
  std::string summary;  // the statement on one line, shortened
  std::vector<RelationEffect> relations;
  std::vector<StatementHazard> hazards;
  std::vector<ColumnEdit> column_edits;  // read by the downstream rules; not stored
  double estimate_seconds = 0;           // < 0: unknown
};

struct Step {
  Phase phase = Phase::kExpand;
  StepKind kind = StepKind::kTransactional;
  int rank = 0;         // order within the phase (then file order): checks before contracts
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
  std::optional<BackfillSpec> backfill;   // kBackfill, kFillMissing
  std::optional<WriterCounters> writers;  // kQuietCheck
  // kCheckConstraint: the constraint and the query listing up to 5 keys of
  // rows that violate it (for the refusal message).
  std::string constraint_name;
  std::string violations_sql;
  // The contract: once recorded, the migration can only be completed.
  bool contract = false;
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

// How the dual-write trigger treats a session that declares no app version
// (migration file key `undeclared_writers`).
enum class UndeclaredWriters {
  kGuess,  // never overwrite a value a writer set; derive only rows without one
  kOld,    // every undeclared session is the old app version: derive from `up`
};

// --- logical replication downstream (plan/downstream.cc) ---
// PostgreSQL does not replicate DDL: a column added on the publisher before a
// subscriber has it stops that subscriber's apply worker at the next change
// to the table ("missing replicated column"), and WAL piles up on the
// publisher meanwhile.

// A column the migration adds to a published table.
struct DownstreamColumn {
  std::string table;  // "schema.name"
  std::string column;
  std::string type;
  std::vector<std::string> publications;    // that replicate it
  std::vector<std::string> not_replicated;  // publications whose column list leaves it out
  std::string subscriber_sql;               // the additive part a subscriber runs first
};

enum class SubscriberState {
  kUnchecked,     // no connection named for it: start refuses unless acknowledged
  kReady,         // checked: it has every column it will receive, of a compatible type
  kMissing,       // checked: a column is missing (start --prepare-subscribers adds it)
  kIncompatible,  // checked: a column's type does not accept the publisher's values
  kUnreachable,   // named, but could not be read
  kAcknowledged,  // not checked; the operator said so with --subscribers-ready
};
const char* subscriber_state_name(SubscriberState s);

// A subscriber that must get the change before the publisher does: a
// logical slot of the publisher's database (or a named subscriber's
// subscription that streams from one).
struct DownstreamSubscriber {
  std::string slot;          // the slot on the publisher; empty: not seen there
  std::string subscription;  // its name, when known
  std::string connection;    // the named subscriber that holds it; empty: none named
  bool active = false;       // the slot streams now
  SubscriberState state = SubscriberState::kUnchecked;
  std::string detail;  // what was found, in words
};

// An inactive logical slot holding back this much WAL or more is a warning.
inline constexpr long long kSlotLagWarningBytes = 64LL * 1024 * 1024;

struct Downstream {
  std::vector<DownstreamColumn> columns;
  std::vector<DownstreamSubscriber> subscribers;
  // A drop or rename of a column that a publication's column list or row
  // filter names: start refuses it. Each with `where` (the operation).
  struct Refusal {
    std::string reason;
    std::string fix;
    std::string where;
  };
  std::vector<Refusal> refusals;
  std::vector<std::string> notes;     // what the author should know, in words
  bool acknowledged = false;          // --subscribers-ready
  std::string acknowledged_by;        // who, when acknowledged
  std::vector<std::string> prepared;  // subscribers start added the columns on, first
  // Inactive logical slots holding back much WAL (also in Plan::warnings;
  // start says them). Not stored.
  std::vector<std::string> slot_warnings;

  bool empty() const { return columns.empty() && refusals.empty() && notes.empty(); }
  // Some subscriber is neither ready nor acknowledged: start refuses.
  bool unconfirmed() const;
};

struct Plan {
  std::string migration;
  // The app version this migration introduces (the migration's name): the new
  // app declares it with application_name "colshift:<version>" or the setting
  // colshift.version; the trigger leaves that version's writes alone.
  std::string version;
  UndeclaredWriters undeclared = UndeclaredWriters::kGuess;
  std::string purpose;
  std::string file;
  std::string checksum;
  int server_version = 0;
  bool offline = true;
  std::vector<Step> steps;         // expand, backfill, finish, complete, in order
  std::vector<std::string> notes;  // decisions the planner made, in words
  std::vector<std::string> warnings;
  std::vector<TableImpact> impact;  // who feels the change (online plans only)
  Downstream downstream;            // logical replication (online plans only)
  // The file's guards (guard/guard.h), as written; the runner adds the
  // built-in defaults the file does not replace.
  std::vector<guard::GuardSpec> guards;

  // Indices of steps in `phase`, in order.
  std::vector<size_t> steps_in(Phase phase) const;
  bool needs_backfill() const;
  // Whether a dual-write trigger tells app versions apart (what to tell the new app).
  bool has_dual_write() const;
};

const char* undeclared_name(UndeclaredWriters u);
// What a session of the new app version puts in application_name (alone, or
// after other text and a space, comma, '/', '@', ';', '|' or parenthesis):
// "colshift:<version>".
std::string version_marker(const std::string& version);

nlohmann::json plan_to_json(const Plan& plan);
Plan plan_from_json(const nlohmann::json& j);

// The impact section of plan and docs: one block per table, `indent` before
// each line; empty when there is no impact (offline).
std::string render_impact_text(const std::vector<TableImpact>& impact, const std::string& indent);

// The plan as the `plan` command prints it: steps by phase with lock, scan and
// rewrite facts, raw SQL statements with their hazards, estimates, then the
// rollback plan.
std::string render_plan_text(const Plan& plan);
// One entry per guard: name, policy, threshold, interval, trip counts, source.
std::string render_guards_text(const std::vector<guard::GuardSpec>& guards,
                               const std::string& indent);

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
// Every relation the plan's steps lock or change ("schema.name", sorted,
// each once): the tables whose shape the docs record before and after. May
// name indexes and tables the migration creates; the catalog tells which are
// tables (Dialect::describe_tables).
std::vector<std::string> affected_relations(const Plan& plan);

// Throws Error(kBadInput) at the operation (Step::where) for the first hazard
// that start refuses (StatementHazard::refused), naming the statement, the
// table, its size, the hazard and the safe way; returns when there is none.
void refuse_hazards(const Plan& plan);

// The downstream section of plan and docs; empty when there is nothing downstream.
std::string render_downstream_text(const Downstream& d, const std::string& indent);
nlohmann::json downstream_to_json(const Downstream& d);
Downstream downstream_from_json(const nlohmann::json& j);

// Start's downstream gate, after refuse_hazards: throws Error(kBadInput) at the
// operation for the first refusal (a drop or rename a publication's column
// list or row filter names, with the fix), then Error(kConflict) naming the
// publications and the subscribers (slots, subscriptions) not confirmed, and
// what confirms them; returns when replication keeps flowing.
void refuse_downstream(const Plan& plan);

// Marks every subscriber not checked (unchecked, unreachable) as acknowledged
// by `who` (--subscribers-ready); checked ones that lack a column stay as they are.
void acknowledge_subscribers(Downstream& d, const std::string& who);

// The breaks_old_app hazards of the steps in `phases`, one line each:
// "step 2 renames column name of public.users (~1,000 rows) to full_name: ...".
std::vector<std::string> old_app_breaks(const Plan& plan, const std::vector<Phase>& phases);

}  // namespace colshift::plan
