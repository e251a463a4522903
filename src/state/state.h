// colshift's own state in the target database (schema --schema, default
// "colshift"). The one place that documents and touches these tables:
//
//   migrations  one row per start of a migration: id, name, file, checksum
//               (sha256 of the file), purpose, phase, plan (jsonb, the Plan
//               that start made and every later command follows), started_at,
//               finished_at (start reached active), completed_at, applied_by
//               (database user, OS user@host), error (last failure), steps_done,
//               steps_total, updated_at. At most one row is active (phase not
//               completed/rolled_back) at a time; a name is unique among rows
//               not rolled back.
//   steps       (migration_id, step, direction 'forward'|'undo', done_at): a
//               step is recorded done in the same transaction as its DDL when
//               the DDL is transactional, so a re-run redoes nothing committed.
//   backfill    (migration_id, step): last_key (jsonb array of key values as
//               text), max_key (the last key to visit), rows_done, rows_total,
//               batch_size, done, throttle (why it waits), started_at,
//               updated_at; written in the same transaction as each batch
//               (rows_done sums every range's batches).
//   backfill_range  (migration_id, step, part): one key range of a backfill,
//               (lo_key, hi_key] (lo_key NULL: from the first key), and its
//               own checkpoint (last_key, rows_done, done), written in the
//               same transaction as each of its batches. Fixed when the
//               backfill first starts, so a resumed run (any --workers)
//               visits exactly the same keys.
//   control     one row (id 1): paused, abort_requested, and throttle
//               overrides (max_rate, max_replica_lag_ms, max_lock_waiters,
//               throttle_query, throttle_max, batch_size) that a running
//               backfill reads before every batch; updated_at, updated_by;
//               migration_id (the run they address: every run clears them
//               when it starts, and the control commands refuse while no
//               colshift process runs).
//   colshift_null_from_up(what, sample)  a function the backfill calls when
//               `up` gives NULL for a NOT NULL column: raises 23502.
//   events      the outbox: id, at, migration_id, migration, kind, detail
//               (jsonb). Written only by the function colshift_event(), in the
//               transaction of the state change it reports (a phase change,
//               a step, a backfill batch crossing a 10% milestone); ids commit
//               in order (it takes a transaction lock before drawing one), so
//               a reader's cursor "last id seen" never skips one. Each insert
//               sends pg_notify('colshift', {"schema","id","kind"}) at commit,
//               a wake-up only. Kinds: started, phase, progress, resumed,
//               failed, interrupted, paused, aborted, throttle, index_started,
//               index_completed, index_failed, guard, guard_watch.
//               A command that named its operator (set_operator) adds it to
//               each detail as "by" ("dbuser (osuser@host)").
//   guards      (migration_id, name): each guard's latest reading, written by
//               whoever watches (start, watch, complete --watch-for): source,
//               threshold, policy, stage, baseline (sampled before expand),
//               value, health (ok|breach|unreadable|unknown), tripped,
//               breaches and failed_reads (consecutive), reason (the values
//               that make it breach or trip), decision and decided_at (the
//               last action taken), read_at. A decision is written with its
//               `guard` event in one statement.
//   schema_snapshots  (migration_id, stage 'before'|'after'): the shapes of
//               the tables the migration touches (dialect/table_shape.h) just
//               before its expand and when complete or rollback ended; taken_at.
//   webhook_endpoints  url, last_event_id (the delivery cursor), disabled_at,
//               disabled_reason (an HTTP 410), created_at.
//   webhook_attempts   id, url, event_id, attempt, at, status (HTTP, NULL when
//               no answer), error, duration_ms, next_retry_ms: every delivery
//               attempt, written with the cursor it advances.
//
// PostgreSQL-specific SQL; another dialect implements the same StateStore.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dialect/connection.h"

namespace colshift::state {

// Phases stored in migrations.phase.
inline constexpr const char* kExpanding = "expanding";
inline constexpr const char* kBackfilling = "backfilling";
inline constexpr const char* kFinishing = "finishing";
inline constexpr const char* kActive = "active";
inline constexpr const char* kCompleting = "completing";
inline constexpr const char* kCompleted = "completed";
inline constexpr const char* kRollingBack = "rolling_back";
inline constexpr const char* kRolledBack = "rolled_back";

struct MigrationRecord {
  long long id = 0;
  std::string name;
  std::string file;
  std::string checksum;
  std::string purpose;
  std::string phase;
  nlohmann::json plan;
  std::string started_at;
  std::string finished_at;
  std::string completed_at;
  std::string applied_by;
  std::string error;
  int steps_done = 0;
  int steps_total = 0;
  double duration_seconds = -1;  // started_at to completed/rolled back (or now)
};

struct BackfillCheckpoint {
  long long migration_id = 0;
  int step = 0;
  std::vector<std::string> last_key;  // empty: nothing done yet
  long long rows_done = 0;
  long long rows_total = -1;
  int batch_size = 0;
  bool done = false;
  double elapsed_seconds = 0;  // since the backfill started (to its last batch)
  std::string throttle;        // why it waits, while it waits
  double idle_seconds = 0;     // since the last checkpoint write
};

// One key range of a backfill and its checkpoint (table backfill_range).
struct BackfillRange {
  int part = 0;
  std::vector<std::string> lo_key;    // exclusive lower bound; empty: from the first key
  std::vector<std::string> hi_key;    // inclusive upper bound
  std::vector<std::string> last_key;  // the last key done; empty: nothing yet
  long long rows_done = 0;
  bool done = false;
};

// Live control of a running backfill (row `control`, id 1), set from another
// terminal by pause/resume/throttle/abort and read before every batch.
// Unset optionals mean "use the value given on the command line".
struct Control {
  bool paused = false;
  bool abort_requested = false;
  std::optional<double> max_rate;
  std::optional<int> max_replica_lag_ms;
  std::optional<int> max_lock_waiters;
  std::optional<std::string> throttle_query;
  std::optional<double> throttle_max;
  std::optional<int> batch_size;
  std::string updated_by;
  long long migration_id = 0;  // the migration whose running process it addresses
};

// One guard's latest reading and decision (table `guards`).
struct GuardRecord {
  std::string name;
  std::string source;     // guard::source_text
  std::string threshold;  // guard::threshold_text
  std::string policy;
  std::string stage;  // where it was read: expand, backfill, finish, active, completed
  std::optional<double> baseline;
  std::optional<double> value;
  std::string health;  // ok, breach, unreadable, unknown
  bool tripped = false;
  int breaches = 0;
  int failed_reads = 0;
  std::string reason;
  std::string decision;  // the last action: pause, resume, rollback, warn, cleared, ...
  std::string decided_at;
  std::string read_at;
};

// One event of a migration, as its run log reads it (at: UTC, microseconds).
struct RunEvent {
  std::string at;
  std::string kind;
  nlohmann::json detail;
};

class StateStore {
 public:
  StateStore(Connection& conn, std::string schema);

  const std::string& schema() const { return schema_; }
  // Creates the schema and tables if missing (idempotent, safe to race).
  void init();
  bool initialized();

  // The one migration not completed or rolled back, if any.
  std::optional<MigrationRecord> active();
  // The newest row with this name that was not rolled back, if any.
  std::optional<MigrationRecord> find_applied(const std::string& name);
  std::optional<MigrationRecord> get(long long id);
  std::vector<MigrationRecord> history(int limit = 1000);

  // Inserts a new migration in phase expanding, with its "started" event;
  // returns its id.
  long long create(const std::string& name, const std::string& file, const std::string& checksum,
                   const std::string& purpose, const nlohmann::json& plan, int steps_total);
  // Moves the migration to `phase`, with its "phase" event in the same
  // statement (none when it was in that phase already).
  void set_phase(long long id, const std::string& phase);
  void set_error(long long id, const std::string& error);
  void clear_error(long long id);

  // Records a step done, and (when `then_phase` is not empty) the phase it
  // leads to, in one statement. Call inside the step's own transaction on
  // `conn` when the step is transactional, so the phase change commits with
  // the change that causes it.
  void record_step(Connection& conn, long long id, int step, const std::string& direction,
                   const std::string& then_phase = {});
  std::set<int> steps_done(long long id, const std::string& direction);

  std::optional<BackfillCheckpoint> checkpoint(long long id, int step);
  void start_checkpoint(long long id, int step, long long rows_total, int batch_size);
  // The key ranges of a backfill, by part (none before the first run made them).
  std::vector<BackfillRange> ranges(long long id, int step);
  std::optional<BackfillRange> range(long long id, int step, int part);
  // Records the ranges (parts 0..n-1) unless some exist already; returns the
  // ones recorded (a racing or earlier run's win).
  std::vector<BackfillRange> create_ranges(long long id, int step,
                                           const std::vector<BackfillRange>& ranges);

  Control control();
  // Clears every control setting and addresses the row to `migration_id`: a
  // run starts with no pause, abort or override left from an earlier one.
  // Returns the settings it cleared.
  Control reset_control(long long migration_id);
  // Whether some session holds the migration lock (a colshift process is
  // changing this database).
  bool lock_held();
  // UPDATE control SET <assignments> (with $1.. bound to params), stamping who and when.
  void update_control(const std::string& assignments, const Params& params);
  void set_throttle_reason(long long id, int step, const std::string& reason);

  // Writes an event through colshift_event() (see above) on this store's
  // connection, or on `conn` (inside its transaction); returns its id. id 0:
  // the active migration's; an empty name: the migration's.
  long long event(long long id, const std::string& migration, const std::string& kind,
                  const nlohmann::json& detail = nlohmann::json::object());
  long long event_on(Connection& conn, long long id, const std::string& migration,
                     const std::string& kind,
                     const nlohmann::json& detail = nlohmann::json::object());

  // Upserts guard `g` of migration `id`; when `decision` is not null, also
  // sets decided_at and writes a `guard` event with `decision` as its detail,
  // in the same statement.
  void record_guard(long long id, const GuardRecord& g, const nlohmann::json& decision = nullptr);
  std::vector<GuardRecord> guards(long long id);
  // The `guard` events of migration `id`, oldest first: (at, detail).
  std::vector<std::pair<std::string, nlohmann::json>> guard_decisions(long long id);

  // The table shapes of migration `id` at `stage` ("before": just before its
  // expand; "after": when complete or rollback ended), as
  // snapshot_to_json (dialect/table_shape.h). `replace`: overwrite one there.
  void record_schema(long long id, const std::string& stage, const nlohmann::json& snapshot,
                     bool replace);
  std::optional<nlohmann::json> schema_snapshot(long long id, const std::string& stage);
  // Seconds from migration `id`'s start to each forward step's record, by
  // step index; and to each of its events of `kinds` (plain words), in order.
  std::map<int, double> step_offsets(long long id);
  std::vector<double> event_offsets(long long id, const std::vector<std::string>& kinds);
  // Every event of migration `id`, oldest first.
  std::vector<RunEvent> run_events(long long id);
  std::string table(const std::string& name) const;  // quoted schema.name

 private:
  MigrationRecord read_record(const QueryResult& r, size_t row) const;
  std::string select_columns() const;
  std::string with_phase_event(const std::string& change) const;

  Connection& conn_;
  std::string schema_;
};

// SQL for the key of the session advisory lock that allows one mutating
// colshift per database and state schema.
std::string migration_lock_key(const std::string& schema);
// The pg_locks test (on the row alias `alias`) for a bigint advisory lock of
// this database; compare its key with migration_lock_key().
std::string advisory_lock_match(const std::string& alias);

// "dbuser (osuser@host)" for applied_by.
std::string current_operator(Connection& conn);
// Names this session's operator (current_operator) for colshift_event(),
// which adds it to every event's detail as "by" (unless the detail has one).
// Through a connection pooler it sets nothing.
void set_operator(Connection& conn);

}  // namespace colshift::state
