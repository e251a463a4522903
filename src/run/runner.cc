#include "run/runner.h"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "backfill/probe.h"
#include "plan/planner.h"
#include "util/error.h"
#include "util/fault.h"
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

// Steps whose effect can be half there when they were not recorded (they do
// not commit with their record), so rollback runs their undo either way.
bool undo_even_if_unrecorded(const Step& s) {
  return !s.undo_only_if_done && s.kind != StepKind::kTransactional;
}

bool contracted(const plan::Plan& p, const std::set<int>& done) {
  for (size_t i = 0; i < p.steps.size(); ++i)
    if (p.steps[i].contract && done.count(static_cast<int>(i))) return true;
  return false;
}

std::string session_name(const char* base, const std::string& schema) {
  return schema == "colshift" ? base : fmt::format("{} ({})", base, schema);
}

}  // namespace

std::vector<std::string> next_commands(const std::string& phase, bool running, bool contracted,
                                       const std::string& file) {
  const std::string start = "colshift start " + (file.empty() ? std::string("FILE") : file);
  if (running) {
    if (phase == state::kBackfilling)
      return {"colshift status", "colshift pause", "colshift throttle", "colshift abort"};
    return {"colshift status"};
  }
  if (phase == state::kExpanding || phase == state::kBackfilling || phase == state::kFinishing)
    return {start + " (resumes)", "colshift rollback"};
  if (phase == state::kActive) return {"colshift complete", "colshift rollback"};
  if (phase == state::kCompleting) {
    if (contracted) return {"colshift complete (finishes the contract)"};
    return {"colshift complete", "colshift rollback"};
  }
  if (phase == state::kRollingBack) return {"colshift rollback (finishes it)"};
  return {};
}

// ---------------------------------------------------------------- runner

Runner::Runner(const Dialect& dialect, ConnectionFactory connect, RunOptions options,
               RunHooks hooks, Clock& clock)
    : dialect_(dialect),
      // Every session names its operator, so each event it writes says who
      // ran the command (the run log of the docs).
      connect_([inner = std::move(connect)] {
        auto conn = inner();
        state::set_operator(*conn);
        return conn;
      }),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      clock_(clock) {
  reconnect_main();
}

Runner::~Runner() = default;

std::unique_ptr<Connection> Runner::open(const char* session_name_base) {
  auto conn = connect_();
  prepare_session(*conn, dialect_, session_name(session_name_base, options_.state_schema));
  return conn;
}

void Runner::reconnect_main() {
  main_cancel_.reset();
  auto fresh = open(kMigratorSession);
  {
    std::lock_guard lock(main_mu_);
    main_ = std::move(fresh);
  }
  main_cancel_ = std::make_unique<interrupt::CancelOnInterrupt>(*main_);
  state_ = std::make_unique<state::StateStore>(*main_, options_.state_schema);
}

void Runner::say(const std::string& line) {
  if (hooks_.log) hooks_.log(line);
}

void Runner::lock() {
  if (lock_) return;
  lock_ = std::make_unique<MigrationLock>(open(kLockSession), dialect_, options_.state_schema);
  end_orphans();
}

void Runner::end_orphans() {
  const std::string names =
      fmt::format("{{\"{}\",\"{}\"}}", session_name(kMigratorSession, options_.state_schema),
                  session_name(kBackfillSession, options_.state_schema));
  auto r = main_->exec(dialect_.busy_sessions_sql(), {names});
  if (r.empty()) return;
  for (size_t i = 0; i < r.size(); ++i) {
    say(fmt::format("  ending pid {}: a killed colshift left it working ({} for {} s: {})",
                    r.text(i, 0), r.text(i, 2), r.text(i, 3), r.text(i, 4)));
    main_->exec(dialect_.end_session_sql(), {r.text(i, 0)});
  }
  for (int i = 0; i < 200 && !main_->exec(dialect_.busy_sessions_sql(), {names}).empty(); ++i) {
    clock_.sleep_for(std::chrono::milliseconds(50));
  }
}

void Runner::verify_lock(long long id) {
  interrupt::check();
  if (lock_->held()) return;
  say("    the migration lock's session was lost; taking the lock again");
  try {
    lock_->retake(open(kLockSession));
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kConflict) throw;
    throw Error(ErrorKind::kConflict,
                "lost the migration lock, and " + std::string(e.what()) +
                    ": stopping before it changes "
                    "anything more",
                {}, "'colshift status' shows what the other colshift does");
  }
  // While the lock was not ours another colshift could have changed the
  // migration: go on only when it is exactly as this runner left it.
  if (!main_->alive()) reconnect_main();
  auto rec = state_->get(id);
  auto undone = state_->steps_done(id, "undo");
  if (!rec || rec->phase != phase_ || !undone.empty()) {
    throw Error(ErrorKind::kConflict,
                fmt::format("lost the migration lock, and the migration changed meanwhile (it is "
                            "now {}): stopping",
                            rec ? rec->phase : "gone"),
                {}, "'colshift status' shows its state; run the command it suggests");
  }
  end_orphans();
}

plan::Plan Runner::plan(const migration::Migration& m) {
  auto facts = dialect_.gather_facts(*main_, m);
  facts.subscribers = read_subscribers(dialect_, m, facts, options_.downstream.subscribers);
  return plan::build_plan(m, facts, dialect_, options_.state_schema);
}

std::vector<plan::SubscriberFacts> read_subscribers(const Dialect& dialect,
                                                    const migration::Migration& m,
                                                    const plan::CatalogFacts& facts,
                                                    const std::vector<SubscriberConnection>& subs) {
  std::vector<plan::SubscriberFacts> out;
  for (const auto& s : subs) {
    plan::SubscriberFacts f;
    try {
      auto conn = s.connect();
      f = dialect.read_subscriber(*conn, m, facts);
    } catch (const std::exception& e) {
      f.error = e.what();
    }
    f.label = s.label;
    out.push_back(std::move(f));
  }
  return out;
}

void Runner::prepare_subscribers(const migration::Migration& m, plan::Plan& p) {
  if (!options_.downstream.prepare) return;
  std::vector<std::string> prepared;
  for (const auto& sub : options_.downstream.subscribers) {
    bool missing = false;
    for (const auto& d : p.downstream.subscribers)
      missing |= d.connection == sub.label && d.state == plan::SubscriberState::kMissing;
    if (!missing) continue;
    auto conn = sub.connect();
    prepare_session(*conn, dialect_, session_name(kMigratorSession, options_.state_schema));
    auto log = [this](int, const std::string& msg) { say("    waiting: " + msg); };
    for (const auto& c : p.downstream.columns) {
      if (c.publications.empty()) continue;
      say(fmt::format("  subscriber {}: {} ...", sub.label, c.subscriber_sql));
      try {
        run_transactional(
            *conn, {c.subscriber_sql}, {}, [] {}, options_.retry, clock_, c.table, log);
      } catch (const DbError& e) {
        throw Error(ErrorKind::kChangeFailed,
                    fmt::format("could not add {}.{} on subscriber {}: {}", c.table, c.column,
                                sub.label, e.what()),
                    c.subscriber_sql,
                    "add it there yourself, then start again; nothing was changed on this "
                    "database");
      }
    }
    prepared.push_back(sub.label);
  }
  if (prepared.empty()) return;
  p = plan(m);
  p.downstream.prepared = prepared;
}

void Runner::stop(long long id, const std::string& name, const std::exception& e,
                  const std::string& what) {
  const bool interrupted = interrupt::requested();
  std::string message = interrupted ? std::string("stopped by Ctrl-C") : std::string(e.what());
  std::string phase = phase_;
  try {
    if (!main_->alive()) reconnect_main();
    state_->set_error(id, message);
    state_->event(id, name, interrupted ? "interrupted" : "failed",
                  {{"during", what}, {"error", message}});
    if (auto rec = state_->get(id)) phase = rec->phase;
  } catch (...) {
    // The state still says which steps are done; the error text is lost.
  }
  if (interrupted) {
    bool done_contract = false;
    try {
      auto rec = state_->get(id);
      if (rec)
        done_contract =
            contracted(plan::plan_from_json(rec->plan), state_->steps_done(id, "forward"));
    } catch (...) {
    }
    throw Error(
        ErrorKind::kInterrupted,
        fmt::format("stopped by {} during {}: migration '{}' is {}, nothing half-applied "
                    "(server-side work cancelled)",
                    interrupt::signal_number() == 2 ? "Ctrl-C" : "SIGTERM", what, name, phase),
        {}, "next: " + join(next_commands(phase, false, done_contract, file_), " or "));
  }
  throw;
}

void Runner::preflight(const migration::Migration& m, const plan::Plan& p) {
  for (size_t i : p.steps_in(Phase::kBackfill)) {
    const auto& spec = *p.steps[i].backfill;
    long long estimate = main_->exec(dialect_.backfill_count_sql(spec)).integer(0, 0, -1);
    say(fmt::format("  pre-flight: 'up' on {} of {}'s rows (read-only) ...",
                    estimate >= 0 && estimate <= backfill::kPreflightAllRows ? "all" : "a sample",
                    spec.table));
    auto f = backfill::preflight(*main_, dialect_, spec, estimate);
    if (!f) continue;
    // Point at the operation that adds the failing column.
    std::string where = m.file;
    for (const auto& op : m.operations) {
      if (auto* a = std::get_if<migration::AddColumn>(&op);
          a && (f->column.empty() || a->column.name == f->column)) {
        where = fmt::format("{}:{}:{}", a->pos.file, a->pos.line, a->pos.column);
        break;
      }
    }
    throw Error(ErrorKind::kBadInput, "pre-flight: " + backfill::describe_failure(spec, *f), where,
                backfill::failure_hint(*f) + "; nothing was changed");
  }
}

StartOutcome Runner::start(const migration::Migration& m) {
  command_ = "start";
  file_ = m.file;
  lock();
  state_->init();  // idempotent: also brings an older state schema up to date
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
    phase_ = active->phase;
    p = plan::plan_from_json(active->plan);
    outcome = StartOutcome::kResumed;
    say(fmt::format("resuming {} from phase {} ({} of {} steps done)", m.name, active->phase,
                    active->steps_done, active->steps_total));
    state_->clear_error(id);
    state_->event(id, m.name, "resumed", {{"phase", active->phase}});
    // Killed between its record and the first shape: nothing has run yet.
    if (active->steps_done == 0 && !state_->schema_snapshot(id, "before"))
      record_shapes(id, p, "before");
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
    if (p.downstream.refusals.empty()) prepare_subscribers(m, p);
    if (options_.downstream.acknowledged)
      plan::acknowledge_subscribers(p.downstream, state::current_operator(*main_));
    for (const auto& w : p.downstream.slot_warnings) say("  warning: " + w);
    plan::refuse_downstream(p);
    preflight(m, p);
    monitor_ = make_monitor(p);
    if (!monitor_->empty()) {
      // Only a ratio needs a baseline; every guard is read once either way
      // (one that cannot be read refuses the start here, nothing recorded).
      auto period = guard_baseline_period(p);
      if (period.count() > 0)
        say(fmt::format("  guards: sampling a baseline for {} before expand ...",
                        human_duration(static_cast<double>(period.count()) / 1000)));
      monitor_->sample_baseline(period);
    }
    id = state_->create(m.name, m.file, m.checksum, m.purpose, plan::plan_to_json(p),
                        static_cast<int>(p.steps.size()));
    record_shapes(id, p, "before");
    phase_ = state::kExpanding;
    if (!p.downstream.subscribers.empty()) {
      state_->event(id, m.name, "downstream", plan::downstream_to_json(p.downstream));
    }
  }
  reconcile_index_events(id);
  if (!monitor_) {
    // A resumed start: the baselines were sampled before its expand, and are
    // in the state (a start killed before it recorded them samples again).
    monitor_ = make_monitor(p);
    if (!monitor_->empty() && state_->guards(id).empty())
      monitor_->sample_baseline(guard_baseline_period(p));
  }
  monitor_->set_stage(phase_ == state::kExpanding     ? "expand"
                      : phase_ == state::kBackfilling ? "backfill"
                                                      : "finish");
  monitor_->attach(id);
  monitor_->start();
  // Control settings address a running process: one given while none ran
  // (an abort, a max rate) must not stop or slow this run.
  auto stale = state_->reset_control(id);
  if (stale.abort_requested || stale.paused || stale.max_rate || stale.batch_size) {
    say("  dropped control settings given while no colshift was running (pause, abort or "
        "throttle apply to a running start only)");
  }

  std::string current = "expand";
  try {
    auto done = state_->steps_done(id, "forward");
    size_t last_pending = p.steps.size();
    for (Phase phase : {Phase::kExpand, Phase::kBackfill, Phase::kFinish})
      for (size_t i : p.steps_in(phase))
        if (!done.count(static_cast<int>(i))) last_pending = i;
    for (Phase phase : {Phase::kExpand, Phase::kBackfill, Phase::kFinish}) {
      current = plan::phase_name(phase);
      auto idx = p.steps_in(phase);
      bool pending = false;
      for (size_t i : idx) pending |= !done.count(static_cast<int>(i));
      if (!pending) continue;
      monitor_->set_stage(current);
      if (phase_ != phase_state(phase)) {
        state_->set_phase(id, phase_state(phase));
        phase_ = phase_state(phase);
      }
      run_steps(id, p, phase, done, state::kActive, last_pending);
    }
    guard_gate();
    if (phase_ != state::kActive) {
      // Nothing was left to run (or the last step's record set it already).
      state_->set_phase(id, state::kActive);
      phase_ = state::kActive;
    }
  } catch (const std::exception& e) {
    if (monitor_ && monitor_->rollback() && !interrupt::requested()) guard_rollback(id, m.name);
    monitor_.reset();
    stop(id, m.name, e, current);
  }
  monitor_.reset();
  return outcome;
}

void Runner::run_steps(long long id, const plan::Plan& p, Phase phase, const std::set<int>& done,
                       const std::string& final_phase, size_t last_pending) {
  for (size_t i : p.steps_in(phase)) {
    const Step& s = p.steps[i];
    if (done.count(static_cast<int>(i))) {
      say(fmt::format("  [done] {}", s.summary));
      continue;
    }
    guard_gate();
    verify_lock(id);
    say(fmt::format("  {} ...", s.summary));
    auto t0 = clock_.now();
    run_step(id, p, i, i == last_pending ? final_phase : std::string());
    if (i == last_pending) phase_ = final_phase;
    double secs = std::chrono::duration<double>(clock_.now() - t0).count();
    say(fmt::format("  ok ({})", human_duration(secs)));
  }
}

void Runner::until_recorded(long long id, int step, const char* direction,
                            const std::function<void()>& attempt) {
  for (int reconnects = 0;; ++reconnects) {
    try {
      attempt();
      return;
    } catch (const DbError& e) {
      if (!e.connection_lost() || reconnects >= 10) throw;
      // Lost the session (perhaps during COMMIT): reconnect, and let the state
      // table settle whether the step committed.
      say(fmt::format("    connection lost ({}); reconnecting", e.what()));
      clock_.sleep_for(std::chrono::milliseconds(std::min(10'000, 250 << std::min(reconnects, 5))));
      try {
        reconnect_main();
        verify_lock(id);
        if (state_->steps_done(id, direction).count(step)) return;
      } catch (const DbError&) {
      }
    }
  }
}

void Runner::run_step(long long id, const plan::Plan& p, size_t index,
                      const std::string& then_phase) {
  const Step& s = p.steps[index];
  const int step = static_cast<int>(index);
  fault::Scope scope(fmt::format("{}.step{}", command_, index));
  auto log = [this](int, const std::string& msg) { say("    waiting: " + msg); };
  // Transactional steps record themselves inside their own commit; the others
  // with a statement of its own, which is a crash point too.
  auto record = [&] {
    if (s.kind != StepKind::kTransactional && s.kind != StepKind::kCheckConstraint) {
      fault::hit("before-record", *main_);
      state_->record_step(*main_, id, step, "forward", then_phase);
      fault::hit("after-record", *main_);
    } else {
      state_->record_step(*main_, id, step, "forward", then_phase);
    }
  };
  until_recorded(id, step, "forward", [&] {
    switch (s.kind) {
      case StepKind::kTransactional:
        run_transactional(*main_, s.sql, s.done_check, record, options_.retry, clock_, s.lock_table,
                          log);
        break;
      case StepKind::kConcurrent:
        with_wait_report([&] {
          run_outside_transaction(*main_, s.sql, options_.retry.lock_timeout, options_.retry,
                                  clock_, log);
        });
        record();
        break;
      case StepKind::kCreateIndex:
        with_index_events(id, step, s, [&] { create_index(s, log); });
        record();
        break;
      case StepKind::kBackfill: {
        backfill::BackfillOptions bo = options_.backfill;
        bo.state_schema = options_.state_schema;
        bo.session_name = session_name(kBackfillSession, options_.state_schema);
        bo.before_batch = [this, id] { verify_lock(id); };
        if (monitor_) {
          bo.guard_hold = [m = monitor_.get()] {
            if (auto trip = m->rollback()) {
              throw Error(ErrorKind::kChangeFailed,
                          fmt::format("guard {} decided rollback: {}", trip->guard, trip->reason));
            }
            return m->pause_reason();
          };
        }
        backfill::Backfill b(dialect_, connect_, clock_, bo);
        long long rows = b.run(*s.backfill, id, step, hooks_.progress);
        say(fmt::format("    {} rows filled", with_commas(rows)));
        record();
        break;
      }
      case StepKind::kQuietCheck:
        quiet_check(s, p.version);
        break;
      case StepKind::kFillMissing:
        fill_missing(s);
        record();
        break;
      case StepKind::kCheckConstraint:
        check_constraint(s, log, record);
        break;
    }
  });
}

void Runner::complete() {
  command_ = "complete";
  lock();
  if (!state_->initialized()) {
    throw Error(ErrorKind::kUsage,
                "there is no active migration to complete (colshift is not initialised here)");
  }
  state_->init();
  auto active = state_->active();
  if (!active) throw Error(ErrorKind::kUsage, "there is no active migration to complete");
  file_ = active->file;
  phase_ = active->phase;
  if (active->phase == state::kRollingBack) {
    throw Error(ErrorKind::kConflict,
                fmt::format("migration '{}' is being rolled back", active->name), {},
                "run 'colshift rollback' to finish it");
  }
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
  const bool past_contract = contracted(p, done);
  if (!past_contract) {
    for (size_t i : p.steps_in(Phase::kBackfill)) {
      auto cp = state_->checkpoint(active->id, static_cast<int>(i));
      if (!done.count(static_cast<int>(i)) || !cp || !cp->done) {
        throw Error(
            ErrorKind::kConflict,
            fmt::format("the backfill of migration '{}' is not recorded as finished", active->name),
            {}, "run 'colshift start' again to finish the backfill before completing");
      }
    }
  }
  state_->reset_control(active->id);
  try {
    if (!past_contract) {
      // Checks first, so a refusal leaves the migration active. Once a
      // contract committed there is no going back, and nothing to check.
      for (size_t i : p.steps_in(Phase::kComplete)) {
        if (p.steps[i].kind == StepKind::kQuietCheck) {
          say(fmt::format("  {} ...", p.steps[i].summary));
          quiet_check(p.steps[i], p.version);
        }
      }
    }
    if (phase_ != state::kCompleting) {
      state_->set_phase(active->id, state::kCompleting);
      phase_ = state::kCompleting;
    }
    size_t last_pending = p.steps.size();
    for (size_t i : p.steps_in(Phase::kComplete))
      if (p.steps[i].kind != StepKind::kQuietCheck && !done.count(static_cast<int>(i)))
        last_pending = i;
    for (size_t i : p.steps_in(Phase::kComplete)) {
      if (p.steps[i].kind == StepKind::kQuietCheck) continue;
      // A fill runs on every try before the contract: rows may have lost
      // their value again since the last one.
      if (done.count(static_cast<int>(i)) &&
          (past_contract || p.steps[i].kind != StepKind::kFillMissing))
        continue;
      verify_lock(active->id);
      say(fmt::format("  {} ...", p.steps[i].summary));
      try {
        run_step(active->id, p, i, i == last_pending ? state::kCompleted : std::string());
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::kConflict &&
            !contracted(p, state_->steps_done(active->id, "forward"))) {
          // A refusal before any contract: the migration is still fully active.
          state_->set_phase(active->id, state::kActive);
          phase_ = state::kActive;
        }
        throw;
      }
      if (i == last_pending) phase_ = state::kCompleted;
    }
    if (phase_ != state::kCompleted) {
      state_->set_phase(active->id, state::kCompleted);
      phase_ = state::kCompleted;
    }
    state_->clear_error(active->id);
    record_shapes(active->id, p, "after");
  } catch (const std::exception& e) {
    stop(active->id, active->name, e, "complete");
  }
}

void Runner::record_shapes(long long id, const plan::Plan& p, const char* stage) {
  try {
    auto snap = dialect_.describe_tables(*main_, plan::affected_relations(p));
    state_->record_schema(id, stage, snapshot_to_json(snap), std::string(stage) == "after");
  } catch (const std::exception& e) {
    say(fmt::format("  warning: could not record the table shapes {} the change for the docs: {}",
                    stage, e.what()));
  }
}

void Runner::run_undo(long long id, const plan::Plan& p, size_t index,
                      const std::string& then_phase) {
  const Step& s = p.steps[index];
  const int step = static_cast<int>(index);
  fault::Scope scope(fmt::format("rollback.step{}", index));
  auto log = [this](int, const std::string& msg) { say("    waiting: " + msg); };
  auto record = [&] {
    if (s.undo_kind == StepKind::kConcurrent) fault::hit("before-record", *main_);
    state_->record_step(*main_, id, step, "undo", then_phase);
    if (s.undo_kind == StepKind::kConcurrent) fault::hit("after-record", *main_);
  };
  until_recorded(id, step, "undo", [&] {
    if (s.undo_kind == StepKind::kConcurrent) {
      with_wait_report([&] {
        run_outside_transaction(*main_, s.undo, std::chrono::milliseconds(0), options_.retry,
                                clock_, log);
      });
      record();
    } else {
      run_transactional(*main_, s.undo, {}, record, options_.retry, clock_, s.lock_table, log);
    }
  });
}

void Runner::rollback() {
  command_ = "rollback";
  lock();
  if (!state_->initialized())
    throw Error(ErrorKind::kUsage, "there is no active migration to roll back");
  state_->init();
  auto active = state_->active();
  if (!active) {
    throw Error(ErrorKind::kUsage, "there is no active migration to roll back", {},
                "completed migrations are final; write a new migration to change the schema again");
  }
  file_ = active->file;
  phase_ = active->phase;
  auto p = plan::plan_from_json(active->plan);
  auto done = state_->steps_done(active->id, "forward");
  if (contracted(p, done)) {
    throw Error(ErrorKind::kConflict,
                fmt::format("migration '{}' was already contracted by complete", active->name), {},
                "run 'colshift complete' to finish recording it; it cannot be rolled back");
  }
  state_->reset_control(active->id);
  try {
    if (phase_ != state::kRollingBack) {
      state_->set_phase(active->id, state::kRollingBack);
      phase_ = state::kRollingBack;
    }
    auto undone = state_->steps_done(active->id, "undo");
    // A transactional step records itself in its own transaction: not
    // recorded means it never committed, so there is nothing to undo.
    // Other steps may have left something (an INVALID index) either way.
    std::vector<size_t> todo;
    for (size_t k = p.steps.size(); k-- > 0;) {
      const Step& s = p.steps[k];
      if (s.contract || s.undo.empty() || undone.count(static_cast<int>(k))) continue;
      const bool recorded = done.count(static_cast<int>(k)) > 0;
      if (!recorded && !undo_even_if_unrecorded(s)) continue;
      todo.push_back(k);
    }
    for (size_t n = 0; n < todo.size(); ++n) {
      verify_lock(active->id);
      const size_t k = todo[n];
      say(fmt::format("  undo: {} ...", p.steps[k].undo_summary));
      const bool last = n + 1 == todo.size();
      run_undo(active->id, p, k, last ? state::kRolledBack : std::string());
      if (last) phase_ = state::kRolledBack;
    }
    if (phase_ != state::kRolledBack) {
      state_->set_phase(active->id, state::kRolledBack);
      phase_ = state::kRolledBack;
    }
    state_->clear_error(active->id);
    record_shapes(active->id, p, "after");
  } catch (const std::exception& e) {
    stop(active->id, active->name, e, "rollback");
  }
}

}  // namespace colshift::run
