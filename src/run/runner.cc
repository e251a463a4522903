#include "run/runner.h"

#include <fmt/format.h>

#include "plan/planner.h"
#include "util/error.h"
#include "util/text.h"

namespace colshift::run {
namespace {

using plan::Phase;
using plan::Step;
using plan::StepKind;

const char* phase_state(Phase p) {
  switch (p) {
    case Phase::kExpand:
      return state::kExpanding;
    case Phase::kBackfill:
      return state::kBackfilling;
    case Phase::kFinish:
      return state::kFinishing;
    default:
      return state::kCompleting;
  }
}

}  // namespace

// ---------------------------------------------------------------- lock

MigrationLock::MigrationLock(std::unique_ptr<Connection> conn, const std::string& schema)
    : conn_(std::move(conn)) {
  key_sql_ = "hashtextextended('colshift:migration:' || " +
             postgres_dialect().quote_literal(schema) + ", 0)";
  acquire();
}

void MigrationLock::ensure(const std::function<std::unique_ptr<Connection>()>& connect) {
  try {
    conn_->exec("SELECT 1");
    return;
  } catch (const DbError& e) {
    if (!e.connection_lost()) throw;
  }
  conn_ = connect();
  acquire();
}

void MigrationLock::acquire() {
  // Through a pooler (PgBouncer) the backend that answers is not the one the
  // client connected to: session settings and advisory locks would not hold.
  long long real_pid = conn_->exec("SELECT pg_backend_pid()").integer(0, 0);
  if (real_pid != conn_->backend_pid()) {
    throw Error(
        ErrorKind::kConflict,
        fmt::format("this connection goes through a connection pooler (client sees backend {}, "
                    "server answers from {}): colshift's session lock and settings would not hold",
                    conn_->backend_pid(), real_pid),
        {}, "connect colshift directly to the primary (bypass PgBouncer) with --db");
  }
  if (conn_->exec("SELECT pg_try_advisory_lock(" + key_sql_ + ")").boolean(0, 0)) return;
  auto r = conn_->exec(
      "SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local'), "
      "to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS') FROM pg_locks l "
      "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND "
      "((l.classid::bigint << 32) | l.objid::bigint) = (" +
      key_sql_ + ") LIMIT 1");
  std::string who = r.empty() ? "another session"
                              : fmt::format("backend pid {} ({}, from {}, since {})", r.text(0, 0),
                                            r.text(0, 1), r.text(0, 2), r.text(0, 3));
  throw Error(ErrorKind::kConflict,
              fmt::format("another colshift is changing this database right now: {}", who), {},
              "wait for it to finish ('colshift status' shows what it does); only one migration "
              "command runs at a time");
}

MigrationLock::~MigrationLock() {
  try {
    if (conn_ && conn_->alive()) conn_->exec("SELECT pg_advisory_unlock(" + key_sql_ + ")");
  } catch (...) {
  }
}

// ---------------------------------------------------------------- runner

Runner::Runner(const Dialect& dialect, ConnectionFactory connect, RunOptions options,
               RunHooks hooks, Clock& clock)
    : dialect_(dialect),
      connect_(std::move(connect)),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      clock_(clock) {
  main_ = connect_();
  state_ = std::make_unique<state::StateStore>(*main_, options_.state_schema);
}

Runner::~Runner() = default;

void Runner::say(const std::string& line) {
  if (hooks_.log) hooks_.log(line);
}

void Runner::lock() {
  if (!lock_) lock_ = std::make_unique<MigrationLock>(connect_(), options_.state_schema);
}

plan::Plan Runner::plan(const migration::Migration& m) {
  auto facts = dialect_.gather_facts(*main_, m);
  return plan::build_plan(m, facts, dialect_, options_.state_schema);
}

void Runner::fail(long long id, const std::string& name, const std::exception& e,
                  const std::string& what) {
  try {
    if (!main_->alive()) {
      main_ = connect_();
      state_ = std::make_unique<state::StateStore>(*main_, options_.state_schema);
    }
    state_->set_error(id, e.what());
    state_->event(id, name, "failed", {{"during", what}, {"error", e.what()}});
  } catch (...) {
    // The state will still say which steps are done; the error text is lost.
  }
}

StartOutcome Runner::start(const migration::Migration& m) {
  lock();
  if (!state_->initialized()) state_->init();
  StartOutcome outcome = StartOutcome::kStarted;
  long long id = 0;
  plan::Plan p;
  if (auto active = state_->active()) {
    if (active->name != m.name) {
      throw Error(
          ErrorKind::kConflict,
          fmt::format("migration '{}' is in progress (phase {}, started {} by {})", active->name,
                      active->phase, active->started_at, active->applied_by),
          {}, fmt::format("complete or roll back '{}' before starting '{}'", active->name, m.name));
    }
    if (active->checksum != m.checksum) {
      throw Error(ErrorKind::kConflict,
                  fmt::format("the file of migration '{}' changed since it was started", m.name),
                  m.file,
                  "restore the file as it was, or 'colshift rollback' and start the new version");
    }
    if (active->phase == state::kActive) {
      say(fmt::format(
          "migration {} is already active; run 'colshift complete' or 'colshift rollback'",
          m.name));
      return StartOutcome::kAlreadyActive;
    }
    if (active->phase == state::kCompleting || active->phase == state::kRollingBack) {
      throw Error(ErrorKind::kConflict, fmt::format("migration '{}' is {}", m.name, active->phase),
                  {},
                  active->phase == state::kCompleting ? "run 'colshift complete' to finish it"
                                                      : "run 'colshift rollback' to finish it");
    }
    id = active->id;
    p = plan::plan_from_json(active->plan);
    outcome = StartOutcome::kResumed;
    say(fmt::format("resuming {} from phase {} ({} of {} steps done)", m.name, active->phase,
                    active->steps_done, active->steps_total));
    state_->clear_error(id);
    state_->event(id, m.name, "resumed", {{"phase", active->phase}});
  } else {
    if (auto applied = state_->find_applied(m.name)) {
      if (applied->checksum != m.checksum) {
        throw Error(
            ErrorKind::kConflict,
            fmt::format("migration '{}' was applied on {} from a different file (checksum "
                        "changed)",
                        m.name, applied->started_at),
            m.file,
            "applied migrations must not be edited; write a new migration for the new change");
      }
      say(fmt::format("migration {} is already applied ({})", m.name, applied->phase));
      return StartOutcome::kAlreadyApplied;
    }
    p = plan(m);
    plan::refuse_hazards(p);  // before anything of the migration changes
    id = state_->create(m.name, m.file, m.checksum, m.purpose, plan::plan_to_json(p),
                        static_cast<int>(p.steps.size()));
    state_->event(id, m.name, "started", {{"purpose", m.purpose}, {"steps", p.steps.size()}});
  }

  std::string current = "expand";
  try {
    auto done = state_->steps_done(id, "forward");
    for (Phase phase : {Phase::kExpand, Phase::kBackfill, Phase::kFinish}) {
      current = plan::phase_name(phase);
      if (p.steps_in(phase).empty()) continue;
      state_->set_phase(id, phase_state(phase));
      state_->event(id, m.name, "phase", {{"phase", phase_state(phase)}});
      run_steps(id, p, phase, done);
    }
    state_->set_phase(id, state::kActive);
    state_->event(id, m.name, "phase", {{"phase", state::kActive}});
  } catch (const std::exception& e) {
    fail(id, m.name, e, current);
    throw;
  }
  return outcome;
}

void Runner::run_steps(long long id, const plan::Plan& p, Phase phase, const std::set<int>& done) {
  for (size_t i : p.steps_in(phase)) {
    const Step& s = p.steps[i];
    if (done.count(static_cast<int>(i))) {
      say(fmt::format("  [done] {}", s.summary));
      continue;
    }
    say(fmt::format("  {} ...", s.summary));
    auto t0 = clock_.now();
    run_step(id, p, i);
    double secs = std::chrono::duration<double>(clock_.now() - t0).count();
    say(fmt::format("  ok ({})", human_duration(secs)));
  }
}

void Runner::run_step(long long id, const plan::Plan& p, size_t index) {
  const Step& s = p.steps[index];
  const int step = static_cast<int>(index);
  auto log = [this](int, const std::string& msg) { say("    waiting: " + msg); };
  auto record = [&] { state_->record_step(*main_, id, step, "forward"); };
  for (int reconnects = 0;; ++reconnects) {
    try {
      switch (s.kind) {
        case StepKind::kTransactional:
          run_transactional(*main_, s.sql, s.done_check, record, options_.retry, clock_,
                            s.lock_table, log);
          break;
        case StepKind::kConcurrent:
          run_outside_transaction(*main_, s.sql, options_.retry.lock_timeout, options_.retry,
                                  clock_, log);
          record();
          break;
        case StepKind::kCreateIndex: {
          if (!main_->exec(s.done_check).boolean(0, 0)) {
            auto inv = main_->exec(
                "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)",
                {s.index_lookup});
            if (!inv.empty() && inv.boolean(0, 0)) {
              say("    dropping the INVALID index left by an earlier failed build");
              run_outside_transaction(*main_, {"DROP INDEX CONCURRENTLY IF EXISTS " + s.index_name},
                                      std::chrono::milliseconds(0), options_.retry, clock_, log);
            }
            try {
              // SHARE UPDATE EXCLUSIVE blocks no reads or writes, so waiting for
              // it (and for older transactions) is harmless: no lock_timeout.
              run_outside_transaction(*main_, s.sql, std::chrono::milliseconds(0), options_.retry,
                                      clock_, log);
            } catch (const DbError& e) {
              if (!e.connection_lost()) {
                // Leave no INVALID index behind.
                run_outside_transaction(*main_,
                                        {"DROP INDEX CONCURRENTLY IF EXISTS " + s.index_name},
                                        std::chrono::milliseconds(0), options_.retry, clock_, log);
              }
              throw;
            }
          }
          record();
          break;
        }
        case StepKind::kBackfill: {
          backfill::BackfillOptions bo = options_.backfill;
          bo.state_schema = options_.state_schema;
          bo.on_reconnect = [this] { lock_->ensure(connect_); };
          backfill::Backfill b(dialect_, connect_, clock_, bo);
          long long rows = b.run(*s.backfill, id, step, hooks_.progress);
          say(fmt::format("    {} rows filled", with_commas(rows)));
          record();
          break;
        }
        case StepKind::kQuietCheck:
          quiet_check(s);
          break;
      }
      return;
    } catch (const DbError& e) {
      if (!e.connection_lost() || reconnects >= 10) throw;
      // Lost the session (perhaps during COMMIT): reconnect, and let the state
      // table settle whether the step committed.
      say(fmt::format("    connection lost ({}); reconnecting", e.what()));
      clock_.sleep_for(std::chrono::milliseconds(std::min(10'000, 250 << std::min(reconnects, 5))));
      try {
        main_ = connect_();
        state_ = std::make_unique<state::StateStore>(*main_, options_.state_schema);
        if (lock_) lock_->ensure(connect_);
        if (state_->steps_done(id, "forward").count(step)) return;
      } catch (const DbError&) {
      }
    }
  }
}

void Runner::quiet_check(const Step& s) {
  const auto& b = *s.backfill;
  auto r = main_->exec(fmt::format(
      "SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {}), "
      "(SELECT last_value FROM {}), (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
      b.old_write_counter, b.old_write_last));
  long long count = r.integer(0, 0);
  long long last_ms = r.integer(0, 1);  // epoch milliseconds
  long long now_ms = r.integer(0, 2);
  if (count == 0 || last_ms <= 0) return;
  double ago = static_cast<double>(now_ms - last_ms) / 1000.0;
  if (ago >= static_cast<double>(options_.quiet_period.count())) {
    say(fmt::format(
        "    {} writes left {} to the trigger; the latest {} ago, outside the quiet period",
        with_commas(count), b.column, human_duration(ago)));
    return;
  }
  std::string msg = fmt::format(
      "an application version that does not know column {}.{} wrote {} ago ({} such writes in "
      "all); "
      "once complete makes the column final, such writes may fail",
      b.table, b.column, human_duration(ago), with_commas(count));
  if (options_.force) {
    say("    --force: " + msg);
    return;
  }
  throw Error(
      ErrorKind::kConflict, msg, {},
      fmt::format("finish rolling out the app version that writes {}, wait until no such write "
                  "happened for --quiet-period ({}), or pass --force",
                  b.column, human_duration(static_cast<double>(options_.quiet_period.count()))));
}

void Runner::complete() {
  lock();
  if (!state_->initialized()) {
    throw Error(ErrorKind::kUsage,
                "there is no active migration to complete (colshift is not initialised here)");
  }
  auto active = state_->active();
  if (!active) throw Error(ErrorKind::kUsage, "there is no active migration to complete");
  if (active->phase != state::kActive && active->phase != state::kCompleting) {
    throw Error(ErrorKind::kConflict,
                fmt::format("migration '{}' has not finished starting (phase {})", active->name,
                            active->phase),
                {},
                fmt::format("run 'colshift start {}' again to resume it, or 'colshift rollback'",
                            active->file.empty() ? active->name : active->file));
  }
  auto p = plan::plan_from_json(active->plan);
  auto done = state_->steps_done(active->id, "forward");
  for (size_t i : p.steps_in(Phase::kBackfill)) {
    auto cp = state_->checkpoint(active->id, static_cast<int>(i));
    if (!done.count(static_cast<int>(i)) || !cp || !cp->done) {
      throw Error(
          ErrorKind::kConflict,
          fmt::format("the backfill of migration '{}' is not recorded as finished", active->name),
          {}, "run 'colshift start' again to finish the backfill before completing");
    }
  }
  try {
    // Checks first, so a refusal leaves the migration active.
    for (size_t i : p.steps_in(Phase::kComplete)) {
      if (p.steps[i].kind == StepKind::kQuietCheck) {
        say(fmt::format("  {} ...", p.steps[i].summary));
        quiet_check(p.steps[i]);
      }
    }
    state_->set_phase(active->id, state::kCompleting);
    state_->event(active->id, active->name, "phase", {{"phase", state::kCompleting}});
    for (size_t i : p.steps_in(Phase::kComplete)) {
      if (p.steps[i].kind == StepKind::kQuietCheck || done.count(static_cast<int>(i))) continue;
      say(fmt::format("  {} ...", p.steps[i].summary));
      run_step(active->id, p, i);
    }
    state_->clear_error(active->id);
    state_->set_phase(active->id, state::kCompleted);
    state_->event(active->id, active->name, "phase", {{"phase", state::kCompleted}});
  } catch (const std::exception& e) {
    fail(active->id, active->name, e, "complete");
    throw;
  }
}

void Runner::run_undo(long long id, const plan::Plan& p, size_t index) {
  const Step& s = p.steps[index];
  const int step = static_cast<int>(index);
  auto log = [this](int, const std::string& msg) { say("    waiting: " + msg); };
  if (s.undo_kind == StepKind::kConcurrent) {
    run_outside_transaction(*main_, s.undo, std::chrono::milliseconds(0), options_.retry, clock_,
                            log);
    state_->record_step(*main_, id, step, "undo");
  } else {
    run_transactional(
        *main_, s.undo, {}, [&] { state_->record_step(*main_, id, step, "undo"); }, options_.retry,
        clock_, s.lock_table, log);
  }
}

void Runner::rollback() {
  lock();
  if (!state_->initialized())
    throw Error(ErrorKind::kUsage, "there is no active migration to roll back");
  auto active = state_->active();
  if (!active) {
    throw Error(ErrorKind::kUsage, "there is no active migration to roll back", {},
                "completed migrations are final; write a new migration to change the schema again");
  }
  auto p = plan::plan_from_json(active->plan);
  auto done = state_->steps_done(active->id, "forward");
  for (size_t i : p.steps_in(Phase::kComplete)) {
    if (p.steps[i].kind != StepKind::kQuietCheck && done.count(static_cast<int>(i))) {
      throw Error(ErrorKind::kConflict,
                  fmt::format("migration '{}' was already contracted by complete", active->name),
                  {}, "run 'colshift complete' to finish recording it; it cannot be rolled back");
    }
  }
  try {
    state_->set_phase(active->id, state::kRollingBack);
    state_->event(active->id, active->name, "phase", {{"phase", state::kRollingBack}});
    auto undone = state_->steps_done(active->id, "undo");
    for (size_t k = p.steps.size(); k-- > 0;) {
      const Step& s = p.steps[k];
      if (s.phase == Phase::kComplete || s.undo.empty() || undone.count(static_cast<int>(k)))
        continue;
      // A transactional step records itself in its own transaction: not
      // recorded means it never committed, so there is nothing to undo.
      // CONCURRENTLY steps may have left something (an INVALID index) either way.
      const bool recorded = done.count(static_cast<int>(k)) > 0;
      if (!recorded && (s.undo_only_if_done || s.kind == StepKind::kTransactional)) continue;
      say(fmt::format("  undo: {} ...", s.undo_summary));
      run_undo(active->id, p, k);
    }
    state_->clear_error(active->id);
    state_->set_phase(active->id, state::kRolledBack);
    state_->event(active->id, active->name, "phase", {{"phase", state::kRolledBack}});
  } catch (const std::exception& e) {
    fail(active->id, active->name, e, "rollback");
    throw;
  }
}

}  // namespace colshift::run
