#include "state/state.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "dialect/dialect.h"
#include "dialect/list_param.h"

namespace colshift::state {
namespace {

std::string q(std::string_view ident) { return postgres_dialect().quote_ident(ident); }

}  // namespace

StateStore::StateStore(Connection& conn, std::string schema)
    : conn_(conn), schema_(std::move(schema)) {}

std::string StateStore::table(const std::string& name) const { return q(schema_) + "." + q(name); }

bool StateStore::initialized() {
  auto r = conn_.exec("SELECT to_regclass($1) IS NOT NULL", {table("events")});
  return r.boolean(0, 0);
}

void StateStore::init() {
  // Serialise concurrent inits (CREATE ... IF NOT EXISTS can still race).
  conn_.exec("BEGIN");
  try {
    conn_.exec("SELECT pg_advisory_xact_lock(hashtext('colshift:init:' || $1))", {schema_});
    conn_.exec_script(fmt::format(R"(
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.migrations (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  file text,
  checksum text NOT NULL,
  purpose text NOT NULL,
  phase text NOT NULL,
  plan jsonb NOT NULL,
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  completed_at timestamptz,
  applied_by text NOT NULL,
  error text,
  steps_done int NOT NULL DEFAULT 0,
  steps_total int NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX IF NOT EXISTS migrations_one_active ON {s}.migrations ((true))
  WHERE phase NOT IN ('completed', 'rolled_back');
CREATE UNIQUE INDEX IF NOT EXISTS migrations_name_applied ON {s}.migrations (name)
  WHERE phase <> 'rolled_back';
CREATE TABLE IF NOT EXISTS {s}.steps (
  migration_id bigint NOT NULL REFERENCES {s}.migrations(id),
  step int NOT NULL,
  direction text NOT NULL CHECK (direction IN ('forward', 'undo')),
  done_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (migration_id, step, direction)
);
CREATE TABLE IF NOT EXISTS {s}.backfill (
  migration_id bigint NOT NULL REFERENCES {s}.migrations(id),
  step int NOT NULL,
  last_key jsonb,
  max_key jsonb,
  rows_done bigint NOT NULL DEFAULT 0,
  rows_total bigint NOT NULL DEFAULT -1,
  batch_size int NOT NULL DEFAULT 0,
  done boolean NOT NULL DEFAULT false,
  throttle text,
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (migration_id, step)
);
CREATE TABLE IF NOT EXISTS {s}.backfill_range (
  migration_id bigint NOT NULL,
  step int NOT NULL,
  part int NOT NULL,
  lo_key jsonb,
  hi_key jsonb NOT NULL,
  last_key jsonb,
  rows_done bigint NOT NULL DEFAULT 0,
  done boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (migration_id, step, part),
  FOREIGN KEY (migration_id, step) REFERENCES {s}.backfill (migration_id, step)
);
CREATE TABLE IF NOT EXISTS {s}.control (
  id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  paused boolean NOT NULL DEFAULT false,
  abort_requested boolean NOT NULL DEFAULT false,
  max_rate double precision,
  max_replica_lag_ms int,
  max_lock_waiters int,
  throttle_query text,
  throttle_max double precision,
  batch_size int,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_by text
);
INSERT INTO {s}.control (id) VALUES (1) ON CONFLICT DO NOTHING;
ALTER TABLE {s}.control ADD COLUMN IF NOT EXISTS migration_id bigint;
CREATE OR REPLACE FUNCTION {s}.colshift_null_from_up(what text, sample anyelement)
  RETURNS anyelement LANGUAGE plpgsql AS $colshift$
BEGIN
  RAISE EXCEPTION 'up gave NULL for NOT NULL column %', what USING ERRCODE = 'not_null_violation';
END
$colshift$;
CREATE TABLE IF NOT EXISTS {s}.events (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  migration_id bigint,
  migration text,
  kind text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS events_migration ON {s}.events (migration_id, id);
-- The one way events are written (the outbox): the transaction-scoped lock
-- taken before the id is drawn makes ids commit in order, so a reader that
-- has seen id N never sees a smaller id appear later (a cursor is enough).
-- pg_notify is a wake-up only; it is sent at commit, with a small payload.
CREATE OR REPLACE FUNCTION {s}.colshift_event(p_migration_id bigint, p_migration text,
    p_kind text, p_detail jsonb) RETURNS bigint LANGUAGE plpgsql AS $colshift$
DECLARE
  mid bigint := p_migration_id;
  mname text := p_migration;
  new_id bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('colshift:events:' || {lit}, 0));
  IF mid IS NULL THEN
    SELECT id INTO mid FROM {s}.migrations WHERE phase NOT IN ('completed', 'rolled_back');
  END IF;
  IF coalesce(mname, '') = '' THEN
    SELECT name INTO mname FROM {s}.migrations WHERE id = mid;
  END IF;
  INSERT INTO {s}.events (migration_id, migration, kind, detail)
    VALUES (mid, mname, p_kind, coalesce(p_detail, '{{}}') ||
            CASE WHEN coalesce(current_setting('colshift.operator', true), '') = ''
                   OR coalesce(p_detail, '{{}}') ? 'by' THEN '{{}}'::jsonb
                 ELSE jsonb_build_object('by', current_setting('colshift.operator', true)) END)
    RETURNING id INTO new_id;
  PERFORM pg_notify('colshift', json_build_object('schema', {lit}, 'id', new_id,
                                                  'kind', p_kind)::text);
  RETURN new_id;
END
$colshift$;
-- Progress milestones: every 10% of a backfill's estimate, and its end, in
-- the transaction of the batch that crossed it.
CREATE OR REPLACE FUNCTION {s}.colshift_backfill_milestone() RETURNS trigger
  LANGUAGE plpgsql AS $colshift$
DECLARE
  before_pct int := CASE WHEN OLD.rows_total > 0
    THEN least(100, OLD.rows_done * 100 / OLD.rows_total) / 10 * 10 ELSE 0 END;
  after_pct int := CASE WHEN NEW.rows_total > 0
    THEN least(100, NEW.rows_done * 100 / NEW.rows_total) / 10 * 10 ELSE 0 END;
BEGIN
  IF (NEW.done AND NOT OLD.done) OR (after_pct > before_pct AND after_pct < 100) THEN
    PERFORM {s}.colshift_event(NEW.migration_id, NULL, 'progress', jsonb_build_object(
      'step', NEW.step, 'rows_done', NEW.rows_done, 'rows_total', NEW.rows_total,
      'percent', CASE WHEN NEW.done THEN 100 ELSE after_pct END, 'done', NEW.done));
  END IF;
  RETURN NULL;
END
$colshift$;
DO $colshift$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'colshift_backfill_milestone'
                 AND tgrelid = (quote_ident({lit}) || '.backfill')::regclass) THEN
    CREATE TRIGGER colshift_backfill_milestone AFTER UPDATE OF rows_done, done ON {s}.backfill
      FOR EACH ROW EXECUTE PROCEDURE {s}.colshift_backfill_milestone();
  END IF;
END $colshift$;
CREATE TABLE IF NOT EXISTS {s}.guards (
  migration_id bigint NOT NULL,
  name text NOT NULL,
  source text NOT NULL,
  threshold text NOT NULL,
  policy text NOT NULL,
  stage text NOT NULL,
  baseline double precision,
  value double precision,
  health text NOT NULL,
  tripped boolean NOT NULL DEFAULT false,
  breaches int NOT NULL DEFAULT 0,
  failed_reads int NOT NULL DEFAULT 0,
  reason text,
  decision text,
  decided_at timestamptz,
  read_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (migration_id, name)
);
-- The shape of every table a migration touches: 'before' taken just before
-- its expand, 'after' when complete or rollback ended (the docs' diff).
CREATE TABLE IF NOT EXISTS {s}.schema_snapshots (
  migration_id bigint NOT NULL,
  stage text NOT NULL CHECK (stage IN ('before', 'after')),
  taken_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  tables jsonb NOT NULL,
  PRIMARY KEY (migration_id, stage)
);
-- Webhook delivery: one row per endpoint (its cursor: the last event id it
-- acknowledged), one per attempt.
CREATE TABLE IF NOT EXISTS {s}.webhook_endpoints (
  url text PRIMARY KEY,
  last_event_id bigint NOT NULL DEFAULT 0,
  disabled_at timestamptz,
  disabled_reason text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS {s}.webhook_attempts (
  id bigserial PRIMARY KEY,
  url text NOT NULL,
  event_id bigint NOT NULL,
  attempt int NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  status int,
  error text,
  duration_ms double precision,
  next_retry_ms bigint
);
CREATE INDEX IF NOT EXISTS webhook_attempts_event ON {s}.webhook_attempts (url, event_id);
)",
                                  fmt::arg("s", q(schema_)),
                                  fmt::arg("lit", postgres_dialect().quote_literal(schema_))));
    conn_.exec("COMMIT");
  } catch (...) {
    try {
      conn_.exec("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
}

std::string StateStore::select_columns() const {
  return "id, name, coalesce(file, ''), checksum, purpose, phase, plan::text, "
         "to_char(started_at, 'YYYY-MM-DD HH24:MI:SS TZ'), "
         "coalesce(to_char(finished_at, 'YYYY-MM-DD HH24:MI:SS TZ'), ''), "
         "coalesce(to_char(completed_at, 'YYYY-MM-DD HH24:MI:SS TZ'), ''), applied_by, "
         "coalesce(error, ''), steps_done, steps_total, "
         "extract(epoch FROM (CASE WHEN phase IN ('completed', 'rolled_back') THEN "
         "coalesce(completed_at, updated_at) ELSE clock_timestamp() END) - started_at)";
}

MigrationRecord StateStore::read_record(const QueryResult& r, size_t i) const {
  MigrationRecord m;
  m.id = r.integer(i, 0);
  m.name = r.text(i, 1);
  m.file = r.text(i, 2);
  m.checksum = r.text(i, 3);
  m.purpose = r.text(i, 4);
  m.phase = r.text(i, 5);
  m.plan = nlohmann::json::parse(r.text(i, 6, "{}"));
  m.started_at = r.text(i, 7);
  m.finished_at = r.text(i, 8);
  m.completed_at = r.text(i, 9);
  m.applied_by = r.text(i, 10);
  m.error = r.text(i, 11);
  m.steps_done = static_cast<int>(r.integer(i, 12));
  m.steps_total = static_cast<int>(r.integer(i, 13));
  m.duration_seconds = std::stod(r.text(i, 14, "-1"));
  return m;
}

std::optional<MigrationRecord> StateStore::active() {
  auto r =
      conn_.exec(fmt::format("SELECT {} FROM {} WHERE phase NOT IN ('completed', 'rolled_back')",
                             select_columns(), table("migrations")));
  if (r.empty()) return std::nullopt;
  return read_record(r, 0);
}

std::optional<MigrationRecord> StateStore::find_applied(const std::string& name) {
  auto r = conn_.exec(fmt::format("SELECT {} FROM {} WHERE name = $1 AND phase <> 'rolled_back'",
                                  select_columns(), table("migrations")),
                      {name});
  if (r.empty()) return std::nullopt;
  return read_record(r, 0);
}

std::optional<MigrationRecord> StateStore::get(long long id) {
  auto r = conn_.exec(
      fmt::format("SELECT {} FROM {} WHERE id = $1", select_columns(), table("migrations")),
      {std::to_string(id)});
  if (r.empty()) return std::nullopt;
  return read_record(r, 0);
}

std::vector<MigrationRecord> StateStore::history(int limit) {
  auto r = conn_.exec(
      fmt::format("SELECT {} FROM {} ORDER BY id LIMIT $1", select_columns(), table("migrations")),
      {std::to_string(limit)});
  std::vector<MigrationRecord> out;
  for (size_t i = 0; i < r.size(); ++i) out.push_back(read_record(r, i));
  return out;
}

long long StateStore::create(const std::string& name, const std::string& file,
                             const std::string& checksum, const std::string& purpose,
                             const nlohmann::json& plan, int steps_total) {
  // The row and its "started" event in one statement: one commit.
  auto r = conn_.exec(
      fmt::format(
          "WITH colshift_new AS (INSERT INTO {} (name, file, checksum, purpose, phase, plan, "
          "applied_by, steps_total) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) RETURNING id) "
          "SELECT id, {}.colshift_event(id, $1, 'started', jsonb_build_object('purpose', $4::text, "
          "'steps', $8::int, 'phase', $5::text)) FROM colshift_new",
          table("migrations"), q(schema_)),
      {name, file, checksum, purpose, std::string(kExpanding), plan.dump(), current_operator(conn_),
       std::to_string(steps_total)});
  return r.integer(0, 0);
}

// The SET list that moves a migration to `phase` ($2), stamping its times.
static std::string phase_assignments(const std::string& phase) {
  std::string extra;
  if (phase == kActive) extra = ", finished_at = clock_timestamp()";
  if (phase == kCompleted || phase == kRolledBack) extra = ", completed_at = clock_timestamp()";
  return "phase = $2, updated_at = clock_timestamp()" + extra;
}

// A statement that runs `change` (a data-modifying CTE named colshift_change
// returning id and name) and, when `phase` ($2) differs from the phase before
// it, writes the "phase" event: the event commits with the change.
std::string StateStore::with_phase_event(const std::string& change) const {
  return fmt::format(
      "WITH colshift_before AS (SELECT phase FROM {m} WHERE id = $1), {change} "
      "SELECT {s}.colshift_event(c.id, c.name, 'phase', jsonb_build_object('phase', $2::text, "
      "'from', b.phase)) FROM colshift_change c, colshift_before b "
      "WHERE $2::text IS NOT NULL AND b.phase IS DISTINCT FROM $2::text",
      fmt::arg("m", table("migrations")), fmt::arg("change", change), fmt::arg("s", q(schema_)));
}

void StateStore::set_phase(long long id, const std::string& phase) {
  conn_.exec(with_phase_event(fmt::format(
                 "colshift_change AS (UPDATE {} SET {} WHERE id = $1 RETURNING id, name)",
                 table("migrations"), phase_assignments(phase))),
             {std::to_string(id), phase});
}

void StateStore::set_error(long long id, const std::string& error) {
  conn_.exec(fmt::format("UPDATE {} SET error = $2, updated_at = clock_timestamp() WHERE id = $1",
                         table("migrations")),
             {std::to_string(id), error});
}

void StateStore::clear_error(long long id) {
  conn_.exec(fmt::format("UPDATE {} SET error = NULL WHERE id = $1", table("migrations")),
             {std::to_string(id)});
}

void StateStore::record_step(Connection& conn, long long id, int step, const std::string& direction,
                             const std::string& then_phase) {
  // One statement, so it is atomic even outside a transaction: the step, the
  // count, the phase it leads to (with that phase's time stamps) and its event.
  conn.exec(
      with_phase_event(fmt::format(
          "colshift_step AS (INSERT INTO {steps} (migration_id, step, direction) "
          "VALUES ($1, $3, $4) ON CONFLICT DO NOTHING RETURNING direction), colshift_change AS ("
          "UPDATE {migrations} SET steps_done = (SELECT count(*) FROM {steps} WHERE migration_id "
          "= $1 AND direction = 'forward') + (SELECT count(*) FROM colshift_step WHERE direction "
          "= 'forward'), updated_at = clock_timestamp(), phase = coalesce($2::text, phase), "
          "finished_at = CASE WHEN $2::text = '{active}' THEN clock_timestamp() ELSE finished_at "
          "END, completed_at = CASE WHEN $2::text IN ('{completed}', '{rolled_back}') THEN "
          "clock_timestamp() ELSE completed_at END WHERE id = $1 RETURNING id, name)",
          fmt::arg("steps", table("steps")), fmt::arg("migrations", table("migrations")),
          fmt::arg("active", kActive), fmt::arg("completed", kCompleted),
          fmt::arg("rolled_back", kRolledBack))),
      {std::to_string(id), then_phase.empty() ? Param{} : Param{then_phase}, std::to_string(step),
       direction});
}

std::set<int> StateStore::steps_done(long long id, const std::string& direction) {
  auto r = conn_.exec(
      fmt::format("SELECT step FROM {} WHERE migration_id = $1 AND direction = $2", table("steps")),
      {std::to_string(id), direction});
  std::set<int> out;
  for (size_t i = 0; i < r.size(); ++i) out.insert(static_cast<int>(r.integer(i, 0)));
  return out;
}

std::optional<BackfillCheckpoint> StateStore::checkpoint(long long id, int step) {
  auto r = conn_.exec(
      fmt::format(
          "SELECT coalesce(last_key::text, 'null'), rows_done, rows_total, batch_size, done, "
          "extract(epoch FROM updated_at - started_at), coalesce(throttle, ''), "
          "extract(epoch FROM clock_timestamp() - updated_at) FROM {} "
          "WHERE migration_id = $1 AND step = $2",
          table("backfill")),
      {std::to_string(id), std::to_string(step)});
  if (r.empty()) return std::nullopt;
  BackfillCheckpoint cp;
  cp.migration_id = id;
  cp.step = step;
  auto key = nlohmann::json::parse(r.text(0, 0));
  if (key.is_array()) cp.last_key = key.get<std::vector<std::string>>();
  cp.rows_done = r.integer(0, 1);
  cp.rows_total = r.integer(0, 2);
  cp.batch_size = static_cast<int>(r.integer(0, 3));
  cp.done = r.boolean(0, 4);
  cp.elapsed_seconds = std::stod(r.text(0, 5, "0"));
  cp.throttle = r.text(0, 6);
  cp.idle_seconds = std::stod(r.text(0, 7, "0"));
  return cp;
}

void StateStore::start_checkpoint(long long id, int step, long long rows_total, int batch_size) {
  conn_.exec(
      fmt::format(
          "INSERT INTO {} (migration_id, step, rows_total, batch_size) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (migration_id, step) DO NOTHING",
          table("backfill")),
      {std::to_string(id), std::to_string(step), std::to_string(rows_total),
       std::to_string(batch_size)});
}

namespace {

std::vector<std::string> key_of(const std::string& json) {
  auto j = nlohmann::json::parse(json);
  return j.is_array() ? j.get<std::vector<std::string>>() : std::vector<std::string>{};
}

std::string json_key(const std::vector<std::string>& key) {
  return key.empty() ? std::string("null") : nlohmann::json(key).dump();
}

}  // namespace

std::vector<BackfillRange> StateStore::ranges(long long id, int step) {
  auto r = conn_.exec(fmt::format("SELECT part, coalesce(lo_key::text, 'null'), hi_key::text, "
                                  "coalesce(last_key::text, 'null'), rows_done, done FROM {} "
                                  "WHERE migration_id = $1 AND step = $2 ORDER BY part",
                                  table("backfill_range")),
                      {std::to_string(id), std::to_string(step)});
  std::vector<BackfillRange> out;
  for (size_t i = 0; i < r.size(); ++i) {
    BackfillRange b;
    b.part = static_cast<int>(r.integer(i, 0));
    b.lo_key = key_of(r.text(i, 1));
    b.hi_key = key_of(r.text(i, 2));
    b.last_key = key_of(r.text(i, 3));
    b.rows_done = r.integer(i, 4);
    b.done = r.boolean(i, 5);
    out.push_back(std::move(b));
  }
  return out;
}

std::optional<BackfillRange> StateStore::range(long long id, int step, int part) {
  for (auto& b : ranges(id, step))
    if (b.part == part) return b;
  return std::nullopt;
}

std::vector<BackfillRange> StateStore::create_ranges(long long id, int step,
                                                     const std::vector<BackfillRange>& ranges) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& b : ranges) {
    rows.push_back({{"part", b.part},
                    {"lo", nlohmann::json::parse(json_key(b.lo_key))},
                    {"hi", nlohmann::json::parse(json_key(b.hi_key))},
                    {"last", nlohmann::json::parse(json_key(b.last_key))},
                    {"rows", b.rows_done}});
  }
  // One statement: all the ranges or none (a racing run's set stays whole).
  conn_.exec(fmt::format("INSERT INTO {} (migration_id, step, part, lo_key, hi_key, last_key, "
                         "rows_done) SELECT $1, $2, (r->>'part')::int, NULLIF(r->'lo', 'null'), "
                         "r->'hi', NULLIF(r->'last', 'null'), (r->>'rows')::bigint "
                         "FROM jsonb_array_elements($3::jsonb) r WHERE NOT EXISTS (SELECT 1 FROM "
                         "{} WHERE migration_id = $1 AND step = $2)",
                         table("backfill_range"), table("backfill_range")),
             {std::to_string(id), std::to_string(step), rows.dump()});
  return this->ranges(id, step);
}

long long StateStore::event(long long id, const std::string& migration, const std::string& kind,
                            const nlohmann::json& detail) {
  return event_on(conn_, id, migration, kind, detail);
}

long long StateStore::event_on(Connection& conn, long long id, const std::string& migration,
                               const std::string& kind, const nlohmann::json& detail) {
  return conn
      .exec(fmt::format("SELECT {}.colshift_event($1, $2, $3, $4::jsonb)", q(schema_)),
            {id ? Param{std::to_string(id)} : Param{}, migration, kind, detail.dump()})
      .integer(0, 0);
}

Control StateStore::control() {
  auto r = conn_.exec(
      fmt::format("SELECT paused, abort_requested, max_rate, max_replica_lag_ms, max_lock_waiters, "
                  "throttle_query, "
                  "throttle_max, batch_size, coalesce(updated_by, ''), migration_id FROM {} "
                  "WHERE id = 1",
                  table("control")));
  Control c;
  if (r.empty()) return c;
  c.paused = r.boolean(0, 0);
  c.abort_requested = r.boolean(0, 1);
  if (r.at(0, 2)) c.max_rate = std::stod(*r.at(0, 2));
  if (r.at(0, 3)) c.max_replica_lag_ms = static_cast<int>(r.integer(0, 3));
  if (r.at(0, 4)) c.max_lock_waiters = static_cast<int>(r.integer(0, 4));
  if (r.at(0, 5)) c.throttle_query = *r.at(0, 5);
  if (r.at(0, 6)) c.throttle_max = std::stod(*r.at(0, 6));
  if (r.at(0, 7)) c.batch_size = static_cast<int>(r.integer(0, 7));
  c.updated_by = r.text(0, 8);
  c.migration_id = r.integer(0, 9, 0);
  return c;
}

Control StateStore::reset_control(long long migration_id) {
  Control before = control();
  conn_.exec(fmt::format("UPDATE {} SET paused = false, abort_requested = false, max_rate = NULL, "
                         "max_replica_lag_ms = NULL, max_lock_waiters = NULL, throttle_query = "
                         "NULL, throttle_max = NULL, batch_size = NULL, migration_id = $1, "
                         "updated_at = clock_timestamp() WHERE id = 1",
                         table("control")),
             {std::to_string(migration_id)});
  return before;
}

bool StateStore::lock_held() {
  return conn_
      .exec("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE " + advisory_lock_match("pg_locks") +
            " AND granted AND ((classid::bigint << 32) | objid::bigint) = " +
            migration_lock_key(schema_) + ")")
      .boolean(0, 0);
}

// An advisory lock's key is scoped to its database, but pg_locks lists every
// database's: without the database test, a colshift working in another
// database of the server (with the same state schema name) looks like one
// working here.
std::string advisory_lock_match(const std::string& alias) {
  return alias + ".locktype = 'advisory' AND " + alias + ".objsubid = 1 AND " + alias +
         ".database = (SELECT oid FROM pg_database WHERE datname = current_database())";
}

std::string migration_lock_key(const std::string& schema) {
  return "hashtextextended('colshift:migration:' || " + postgres_dialect().quote_literal(schema) +
         ", 0)";
}

void StateStore::update_control(const std::string& assignments, const Params& params) {
  Params p = params;
  p.push_back(current_operator(conn_));
  conn_.exec(
      fmt::format("UPDATE {} SET {}, updated_at = clock_timestamp(), updated_by = ${} WHERE id = 1",
                  table("control"), assignments, p.size()),
      p);
}

void StateStore::set_throttle_reason(long long id, int step, const std::string& reason) {
  conn_.exec(
      fmt::format("UPDATE {} SET throttle = NULLIF($3, '') WHERE migration_id = $1 AND step = $2",
                  table("backfill")),
      {std::to_string(id), std::to_string(step), reason});
}

void StateStore::record_guard(long long id, const GuardRecord& g, const nlohmann::json& decision) {
  auto num = [](const std::optional<double>& v) {
    return v ? Param{fmt::format("{:.17g}", *v)} : Param{};
  };
  const bool decided = !decision.is_null();
  conn_.exec(
      fmt::format(
          "WITH g AS (INSERT INTO {t} AS o (migration_id, name, source, threshold, policy, stage, "
          "baseline, value, health, tripped, breaches, failed_reads, reason, decision, "
          "decided_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7::float8, $8::float8, $9, "
          "$10::boolean, $11::int, $12::int, NULLIF($13, ''), NULLIF($14, ''), CASE WHEN "
          "$15::jsonb "
          "IS NOT NULL THEN clock_timestamp() END, clock_timestamp()) "
          "ON CONFLICT (migration_id, name) DO UPDATE SET source = EXCLUDED.source, "
          "threshold = EXCLUDED.threshold, policy = EXCLUDED.policy, stage = EXCLUDED.stage, "
          "baseline = coalesce(EXCLUDED.baseline, o.baseline), value = EXCLUDED.value, "
          "health = EXCLUDED.health, tripped = EXCLUDED.tripped, breaches = EXCLUDED.breaches, "
          "failed_reads = EXCLUDED.failed_reads, reason = EXCLUDED.reason, "
          "decision = coalesce(EXCLUDED.decision, o.decision), "
          "decided_at = coalesce(EXCLUDED.decided_at, o.decided_at), read_at = EXCLUDED.read_at "
          "RETURNING migration_id) "
          "SELECT {s}.colshift_event(migration_id, NULL, 'guard', $15::jsonb) FROM g "
          "WHERE $15::jsonb IS NOT NULL",
          fmt::arg("t", table("guards")), fmt::arg("s", q(schema_))),
      {std::to_string(id), g.name, g.source, g.threshold, g.policy, g.stage, num(g.baseline),
       num(g.value), g.health, g.tripped ? "true" : "false", std::to_string(g.breaches),
       std::to_string(g.failed_reads), g.reason, decided ? g.decision : std::string(),
       decided ? Param{decision.dump()} : Param{}});
}

std::vector<GuardRecord> StateStore::guards(long long id) {
  auto r = conn_.exec(
      fmt::format("SELECT name, source, threshold, policy, stage, baseline, value, health, "
                  "tripped, breaches, failed_reads, coalesce(reason, ''), coalesce(decision, ''), "
                  "coalesce(to_char(decided_at, 'YYYY-MM-DD HH24:MI:SS TZ'), ''), "
                  "to_char(read_at, 'YYYY-MM-DD HH24:MI:SS TZ') FROM {} WHERE migration_id = $1 "
                  "ORDER BY name",
                  table("guards")),
      {std::to_string(id)});
  std::vector<GuardRecord> out;
  auto num = [&](size_t i, size_t c) -> std::optional<double> {
    if (!r.at(i, c)) return std::nullopt;
    return std::stod(*r.at(i, c));
  };
  for (size_t i = 0; i < r.size(); ++i) {
    GuardRecord g;
    g.name = r.text(i, 0);
    g.source = r.text(i, 1);
    g.threshold = r.text(i, 2);
    g.policy = r.text(i, 3);
    g.stage = r.text(i, 4);
    g.baseline = num(i, 5);
    g.value = num(i, 6);
    g.health = r.text(i, 7);
    g.tripped = r.boolean(i, 8);
    g.breaches = static_cast<int>(r.integer(i, 9));
    g.failed_reads = static_cast<int>(r.integer(i, 10));
    g.reason = r.text(i, 11);
    g.decision = r.text(i, 12);
    g.decided_at = r.text(i, 13);
    g.read_at = r.text(i, 14);
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<std::pair<std::string, nlohmann::json>> StateStore::guard_decisions(long long id) {
  auto r =
      conn_.exec(fmt::format("SELECT to_char(at, 'YYYY-MM-DD HH24:MI:SS TZ'), detail::text FROM {} "
                             "WHERE migration_id = $1 AND kind = 'guard' ORDER BY id",
                             table("events")),
                 {std::to_string(id)});
  std::vector<std::pair<std::string, nlohmann::json>> out;
  for (size_t i = 0; i < r.size(); ++i)
    out.emplace_back(r.text(i, 0), nlohmann::json::parse(r.text(i, 1, "{}")));
  return out;
}

void StateStore::record_schema(long long id, const std::string& stage,
                               const nlohmann::json& snapshot, bool replace) {
  conn_.exec(fmt::format("INSERT INTO {} (migration_id, stage, tables) VALUES ($1, $2, $3::jsonb) "
                         "ON CONFLICT (migration_id, stage) DO {}",
                         table("schema_snapshots"),
                         replace ? "UPDATE SET tables = EXCLUDED.tables, taken_at = "
                                   "clock_timestamp()"
                                 : "NOTHING"),
             {std::to_string(id), stage, snapshot.dump()});
}

std::optional<nlohmann::json> StateStore::schema_snapshot(long long id, const std::string& stage) {
  // A state schema an older colshift made has no snapshots until the next
  // changing command brings it up to date (init).
  if (!conn_.exec("SELECT to_regclass($1) IS NOT NULL", {table("schema_snapshots")}).boolean(0, 0))
    return std::nullopt;
  auto r = conn_.exec(fmt::format("SELECT tables::text FROM {} WHERE migration_id = $1 AND "
                                  "stage = $2",
                                  table("schema_snapshots")),
                      {std::to_string(id), stage});
  if (r.empty()) return std::nullopt;
  return nlohmann::json::parse(r.text(0, 0));
}

std::map<int, double> StateStore::step_offsets(long long id) {
  auto r = conn_.exec(
      fmt::format("SELECT s.step, extract(epoch FROM s.done_at - m.started_at)::float8 FROM {} s "
                  "JOIN {} m ON m.id = s.migration_id WHERE s.migration_id = $1 "
                  "AND s.direction = 'forward'",
                  table("steps"), table("migrations")),
      {std::to_string(id)});
  std::map<int, double> out;
  for (size_t i = 0; i < r.size(); ++i)
    out[static_cast<int>(r.integer(i, 0))] = std::stod(r.text(i, 1, "0"));
  return out;
}

std::vector<double> StateStore::event_offsets(long long id, const std::vector<std::string>& kinds) {
  auto r =
      conn_.exec(fmt::format("SELECT extract(epoch FROM e.at - m.started_at)::float8 FROM {} e "
                             "JOIN {} m ON m.id = e.migration_id WHERE e.migration_id = $1 "
                             "AND e.kind = ANY ($2::text[]) ORDER BY e.id",
                             table("events"), table("migrations")),
                 {std::to_string(id), text_list_param(kinds)});
  std::vector<double> out;
  for (size_t i = 0; i < r.size(); ++i) out.push_back(std::stod(r.text(i, 0, "0")));
  return out;
}

std::vector<RunEvent> StateStore::run_events(long long id) {
  auto r = conn_.exec(
      fmt::format("SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), kind, "
                  "detail::text FROM {} WHERE migration_id = $1 ORDER BY id",
                  table("events")),
      {std::to_string(id)});
  std::vector<RunEvent> out;
  for (size_t i = 0; i < r.size(); ++i)
    out.push_back({r.text(i, 0), r.text(i, 1), nlohmann::json::parse(r.text(i, 2, "{}"))});
  return out;
}

// "osuser@host" of this process.
static std::string os_operator() {
  const char* user = std::getenv("USER");
  if (!user) user = std::getenv("LOGNAME");
  if (!user) {
    if (auto* pw = getpwuid(getuid())) user = pw->pw_name;
  }
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return fmt::format("{}@{}", user ? user : "?", host);
}

void set_operator(Connection& conn) {
  // Sets nothing through a pooler (the backend answering is not this
  // session's): prepare_session refuses such a connection next, and a
  // setting must never reach another client of the pool.
  conn.exec(
      "SELECT set_config('colshift.operator', current_user || ' (' || $1 || ')', false) "
      "WHERE pg_backend_pid() = $2::int",
      {os_operator(), std::to_string(conn.backend_pid())});
}

std::string current_operator(Connection& conn) {
  std::string db_user = conn.exec("SELECT current_user").text(0, 0);
  return fmt::format("{} ({})", db_user, os_operator());
}

}  // namespace colshift::state
