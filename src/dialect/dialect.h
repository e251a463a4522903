// The dialect interface: every piece of engine-specific SQL that colshift
// generates comes from a Dialect. PostgreSQL is implemented in
// dialect/postgres/; SQLite and MySQL/MariaDB plug in here without touching the
// planner, runner or backfill loop.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dialect/connection.h"
#include "dialect/table_shape.h"
#include "migration/migration.h"
#include "plan/facts.h"
#include "plan/plan.h"

namespace colshift {

// What an operation planner needs besides the operation and the facts.
struct PlanContext {
  std::string state_schema = "colshift";  // colshift's own schema
  std::string migration;                  // migration name: the app version it introduces
  plan::UndeclaredWriters undeclared = plan::UndeclaredWriters::kGuess;
  int operation = 0;  // index of the operation in the file
  const plan::CatalogFacts* facts = nullptr;
  // Every operation of the migration (raw_sql reads what runs before it).
  const std::vector<migration::Operation>* operations = nullptr;
};

// A key range for one backfill batch: rows with key > after (or from the start
// when `after` is empty) and key <= upto (or to the end when `upto` is empty).
struct KeyRange {
  std::vector<std::string> after;
  std::vector<std::string> upto;
};

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string name() const = 0;

  virtual std::string quote_ident(std::string_view ident) const = 0;
  virtual std::string quote_literal(std::string_view text) const = 0;
  std::string qualified(std::string_view schema, std::string_view name) const {
    return schema.empty() ? quote_ident(name) : quote_ident(schema) + "." + quote_ident(name);
  }

  // Reads what the planner needs about the tables, indexes and functions the
  // migration names, and checks the migration's SQL expressions against the
  // live schema (without changing anything). Throws Error(kBadInput) at the
  // expression's own file:line:col, with the source line, a caret and a hint,
  // when an expression does not fit the table.
  virtual plan::CatalogFacts gather_facts(Connection& conn,
                                          const migration::Migration& m) const = 0;

  // Facts for planning without a database: every table assumed to exist with
  // an `id` primary key, unknown size; functions in defaults volatile unless
  // the dialect knows them as built-ins (each assumption in `notes`).
  virtual plan::CatalogFacts offline_facts(const migration::Migration& m) const = 0;

  // The steps for one operation: forward statements per phase, each with its
  // lock, cost and inverse. Throws Error(kBadInput) when the operation cannot
  // be applied to the schema the facts describe.
  virtual std::vector<plan::Step> plan_operation(const migration::Operation& op,
                                                 const PlanContext& ctx) const = 0;

  // --- logical replication subscribers ---

  // Reads, read-only, what subscriber `sub` holds: its subscriptions (slot,
  // publications, enabled, apply and sync error counts where the server
  // keeps them; a guard of the watched rollout can read these), and for every
  // column `m` adds to a table `facts` (the publisher's) describes, whether
  // the subscriber's copy of the table has it with a type that accepts the
  // publisher's values. Leaves `label` and `error` empty; throws DbError.
  virtual plan::SubscriberFacts read_subscriber(Connection& sub, const migration::Migration& m,
                                                const plan::CatalogFacts& facts) const = 0;
  // This database's logical replication slots and every physical one, with
  // the WAL each holds back and, while one streams, its walsender's
  // application_name (a subscription's name). One query; a guard of the
  // watched rollout can read it. Throws DbError (e.g. no privilege).
  virtual std::vector<plan::SlotImpact> read_slots(Connection& conn) const = 0;

  // The shapes of the named tables ("schema.table"), by name; a name that is
  // no table then goes to `absent`. Read-only, in its own transaction.
  virtual SchemaSnapshot describe_tables(Connection& conn,
                                         const std::vector<std::string>& tables) const = 0;
  // Every user table of the database ("schema.table", by name): no system,
  // extension or partition tables, nothing in `exclude_schemas`.
  virtual std::vector<std::string> list_tables(
      Connection& conn, const std::vector<std::string>& exclude_schemas) const = 0;
  // The additive part a subscriber runs before the publisher's expand: the
  // column, nullable, no default, skipped when it is there.
  virtual std::string subscriber_add_column_sql(const std::string& schema, const std::string& table,
                                                const std::string& column,
                                                const std::string& type) const = 0;

  // --- guards (guard/monitor.h): the database's own signals, one row each ---

  // Run before each read of the statistics views, so the read sees fresh
  // counters and not the transaction's cached snapshot.
  virtual std::string stats_clear_snapshot_sql() const = 0;
  // Commits, rollbacks and deadlocks of this database so far (cumulative).
  virtual std::string database_counters_sql() const = 0;
  // The sum of the counter sequences in $1 (a text array of qualified
  // names); one not there yet or never bumped counts 0.
  virtual std::string counter_total_sql() const = 0;
  // Sessions other than this one waiting for a lock on a table in $1 (a text
  // array of qualified names), or on a row lock.
  virtual std::string table_lock_waiters_sql() const = 0;
  // Client sessions idle in a transaction for more than $1 seconds.
  virtual std::string idle_in_transaction_sql() const = 0;
  // The largest replay lag of any streaming replica now, in seconds (0 with
  // no replica, or one that has replayed everything).
  virtual std::string replica_lag_sql() const = 0;
  // WAL written so far (bytes, cumulative) and the server's clock (epoch
  // seconds): two reads give the WAL rate.
  virtual std::string wal_position_sql() const = 0;
  // Autovacuum workers processing one of the tables in $1 (a text array of
  // qualified names) now.
  virtual std::string autovacuum_on_tables_sql() const = 0;
  // What opens the read-only transaction a user's guard query runs in, with
  // its statement timeout; and what ends it (commit or roll back).
  virtual std::vector<std::string> guard_query_begin(long long timeout_ms) const = 0;
  virtual std::string end_transaction_sql(bool commit) const = 0;

  // --- sessions ---

  // Statements every colshift session runs first: the timeouts its own work
  // needs, whatever the role or database sets (a role's statement_timeout or
  // idle_session_timeout must not cancel colshift), and a check that makes
  // the server end colshift's statements when colshift itself is gone; and
  // the session's name in the server's activity list.
  virtual std::vector<std::string> session_setup(int server_version,
                                                 std::string_view application_name) const = 0;

  // Sessions (pid, application_name, state, seconds in that state, query)
  // named one of the application names in $1 (a text array), other than this
  // one, that are running a statement or inside a transaction.
  virtual std::string busy_sessions_sql() const = 0;
  // The server's process id for this session (to tell a pooler's lent
  // connection from a direct one).
  virtual std::string backend_pid_sql() const = 0;
  // Ends session $1 (returns true when it was signalled).
  virtual std::string end_session_sql() const = 0;
  // The sessions (pid, state, seconds, query) that session $1 waits for.
  virtual std::string blocking_sessions_sql() const = 0;
  // Sessions (pid) building index $1 (a qualified name) right now.
  virtual std::string index_builders_sql() const = 0;

  // --- backfill SQL (parameters are bound key values, as text) ---

  // Session setup for the backfill connection.
  virtual std::vector<std::string> backfill_session_setup() const = 0;
  // SELECT of the last key of the next batch: params = after-key values then
  // upto-key values then the offset (batch size - 1); no row when fewer remain.
  virtual std::string backfill_boundary_sql(const plan::BackfillSpec& spec,
                                            bool has_after) const = 0;
  // SELECT of the largest key in the table (no row when empty).
  virtual std::string backfill_max_key_sql(const plan::BackfillSpec& spec) const = 0;
  // UPDATE of one key range, filling every column of the spec that has no
  // value yet, with the dual-write trigger off for this statement only;
  // params = after-key values (if any) then upto-key values (if any).
  // Affected rows = rows filled. A NULL for a NOT NULL column fails it
  // (SQLSTATE 23502).
  virtual std::string backfill_update_sql(const plan::BackfillSpec& spec, bool has_after,
                                          bool has_upto, const std::string& state_schema) const = 0;
  // One whole batch in one statement (one round trip, atomic): the UPDATE of
  // the key range, the checkpoint of its range in colshift's backfill_range
  // table and the total in the backfill table. Params: after key values (if
  // any), upto key values, then migration id, step, range part, last key
  // (JSON array), batch size, range done. Returns one row: the rows filled.
  virtual std::string backfill_batch_sql(const plan::BackfillSpec& spec, bool has_after,
                                         const std::string& state_schema) const = 0;
  // SELECT of parts - 1 increasing keys that split the keys up to the last
  // key to visit (params: its values) into parts of about equal rows, from a
  // sample of about `percent` of the table's pages; fewer when the sample is small.
  virtual std::string backfill_split_keys_sql(const plan::BackfillSpec& spec, double percent,
                                              int parts) const = 0;
  // The load throttle's probe, timed by colshift: what an app transaction on
  // the table does (a read by key, params: a key's values; a commit).
  virtual std::string load_probe_sql(const plan::BackfillSpec& spec) const = 0;
  // Count of other client sessions of this database running a statement now,
  // leaving out colshift's own (no params).
  virtual std::string active_sessions_sql() const = 0;
  // Rows still to fill (estimate allowed): used for progress totals.
  virtual std::string backfill_count_sql(const plan::BackfillSpec& spec) const = 0;
  // Read-only: evaluates every expression of the spec over the rows of a key
  // range that still need a value (all rows when `before_expand`: the new
  // columns do not exist yet). Fails when an expression fails for a row;
  // returns one row whose first value counts NULLs for NOT NULL columns.
  // Params as backfill_update_sql.
  virtual std::string backfill_probe_sql(const plan::BackfillSpec& spec, bool has_after,
                                         bool has_upto, bool before_expand) const = 0;
  // Read-only, before expand: the first key in a key range (params as
  // backfill_update_sql) whose row fails `column`'s CHECK once the column
  // holds its expression's value; no row when none does.
  virtual std::string check_probe_sql(const plan::BackfillSpec& spec,
                                      const plan::BackfillColumn& column, bool has_after,
                                      bool has_upto) const = 0;
  // Rows in a key range (params as backfill_update_sql).
  virtual std::string backfill_range_rows_sql(const plan::BackfillSpec& spec, bool has_after,
                                              bool has_upto) const = 0;
  // The key at an offset within a key range: params as backfill_update_sql,
  // then the offset.
  virtual std::string backfill_nth_key_sql(const plan::BackfillSpec& spec, bool has_after,
                                           bool has_upto) const = 0;
  // Up to `limit` keys of a random sample of about `percent` of the table's pages.
  virtual std::string backfill_sample_keys_sql(const plan::BackfillSpec& spec, double percent,
                                               int limit) const = 0;
  // Fills a chunk of rows that still have no value (no params); affected rows
  // = rows filled; 0 when none is left. Fails as backfill_update_sql.
  virtual std::string fill_missing_sql(const plan::BackfillSpec& spec,
                                       const std::string& state_schema) const = 0;
  // Keys (up to 5) of rows that still have no value.
  virtual std::string missing_keys_sql(const plan::BackfillSpec& spec) const = 0;
};

// Runs the dialect's session_setup on `conn` (one round trip). Throws
// Error(kConflict) first, setting nothing, when `conn` goes through a
// connection pooler: colshift's changing sessions must be direct.
void prepare_session(Connection& conn, const Dialect& dialect, std::string_view application_name);

// What colshift names its sessions (application_name): the migrator (DDL and
// state) and the backfill are the sessions that change the database; a
// process that holds the migration lock ends any other session of these
// names that is still working (an orphan of a killed colshift).
inline constexpr const char* kMigratorSession = "colshift migrator";
inline constexpr const char* kBackfillSession = "colshift backfill";
inline constexpr const char* kLockSession = "colshift lock";

// The dialect for a connection string (postgresql:// and keyword strings: PostgreSQL).
const Dialect& postgres_dialect();

}  // namespace colshift
