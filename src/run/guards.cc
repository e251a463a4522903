// The runner's side of guards: which guards a plan has, what start does when
// one trips, and the watch after start and after complete (guard/monitor.h).
#include <fmt/format.h>

#include "run/runner.h"
#include "util/error.h"
#include "util/interrupt.h"
#include "util/text.h"

namespace colshift::run {

std::unique_ptr<guard::Monitor> Runner::make_monitor(const plan::Plan& p) {
  auto specs = options_.guards.defaults ? guard::with_defaults(p.guards) : p.guards;
  guard::MonitorOptions mo;
  mo.state_schema = options_.state_schema;
  for (const auto& s : p.steps) {
    if (s.backfill) mo.tables.push_back(dialect_.qualified(s.backfill->schema, s.backfill->table));
    if (s.writers && !s.writers->trigger_failures.empty())
      mo.failure_counters.push_back(s.writers->trigger_failures);
  }
  mo.log = [this](const std::string& line) { say(line); };
  mo.on_rollback = [this] {
    // Stop what the migrator runs now (a DDL step, an index build): the
    // start unwinds at once and rolls back. The backfill stops at its gate.
    std::lock_guard lock(main_mu_);
    if (main_) main_->cancel();
  };
  return std::make_unique<guard::Monitor>(dialect_, connect_, clock_, std::move(specs),
                                          std::move(mo));
}

std::chrono::milliseconds Runner::guard_baseline_period(const plan::Plan& p) const {
  for (const auto& g : p.guards)
    if (g.uses_baseline()) return options_.guards.baseline;
  return std::chrono::milliseconds(0);
}

void Runner::guard_gate() {
  if (!monitor_) return;
  bool said = false;
  for (;;) {
    if (auto trip = monitor_->rollback()) {
      throw Error(ErrorKind::kChangeFailed,
                  fmt::format("guard {} decided rollback: {}", trip->guard, trip->reason));
    }
    std::string pause = monitor_->pause_reason();
    if (pause.empty()) return;
    if (!said) say("    waiting: " + pause);
    said = true;
    interrupt::check();
    clock_.sleep_for(std::chrono::milliseconds(200));
  }
}

void Runner::guard_rollback(long long id, const std::string& name) {
  auto trip = *monitor_->rollback();
  monitor_->stop();
  monitor_.reset();
  const std::string why = fmt::format("guard {} decided rollback: {}", trip.guard, trip.reason);
  say(fmt::format("  {}; rolling back now", why));
  // The decision cancelled what main_ ran; a cancel that reached the server
  // late must not hit the rollback's first statement.
  clock_.sleep_for(std::chrono::milliseconds(50));
  try {
    main_->exec(dialect_.backend_pid_sql());  // any harmless statement
  } catch (const DbError&) {
  }
  if (!main_->alive()) reconnect_main();
  rollback();
  state_->set_error(id, fmt::format("rolled back by guard {}: {}", trip.guard, trip.reason));
  throw Error(ErrorKind::kChangeFailed,
              fmt::format("migration '{}' was rolled back: {}", name, why), {},
              "the table is as before and every app write is kept; 'colshift status' and "
              "'colshift history' show the guard's values. Fix the cause, then start again");
}

WatchResult Runner::watch(std::chrono::milliseconds duration) {
  command_ = "watch";
  if (!state_->initialized())
    throw Error(ErrorKind::kUsage, "there is no active migration to watch");
  state_->init();
  auto active = state_->active();
  if (!active) {
    throw Error(ErrorKind::kUsage, "there is no active migration to watch", {},
                "'colshift complete --watch-for DUR' watches a migration after it completes");
  }
  if (active->phase != state::kActive) {
    throw Error(ErrorKind::kConflict,
                fmt::format("migration '{}' is {}: watch covers the active window", active->name,
                            active->phase),
                {}, "a running start watches its own guards; 'colshift status' shows them");
  }
  file_ = active->file;
  auto p = plan::plan_from_json(active->plan);
  WatchResult out;
  auto monitor = make_monitor(p);
  monitor->set_stage("active");
  monitor->attach(active->id);
  say(fmt::format("watching {}'s guards{} ...", active->name,
                  duration.count() ? " for " + human_duration(duration.count() / 1000.0) : ""));
  auto last_check = clock_.now();
  bool moved_on = false;
  try {
    monitor->run_for(duration, [&] {
      // Another command may complete or roll it back meanwhile.
      if (clock_.now() - last_check < std::chrono::seconds(2)) return false;
      last_check = clock_.now();
      auto rec = state_->get(active->id);
      moved_on = !rec || rec->phase != state::kActive;
      return moved_on;
    });
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kInterrupted) throw;
    say("stopped watching (interrupted)");
  }
  out.tripped = monitor->tripped();
  out.decisions = monitor->decisions();
  if (moved_on) say(fmt::format("{} is no longer active; stopped watching", active->name));
  if (auto trip = monitor->rollback()) {
    monitor.reset();
    out.reason = fmt::format("guard {} decided rollback: {}", trip->guard, trip->reason);
    say("  " + out.reason + "; rolling back now");
    rollback();
    state_->set_error(active->id,
                      fmt::format("rolled back by guard {}: {}", trip->guard, trip->reason));
    out.rolled_back = true;
  }
  return out;
}

WatchResult Runner::watch_completed(long long id, std::chrono::milliseconds duration) {
  WatchResult out;
  if (duration.count() == 0) return out;
  auto found = state_->get(id);
  if (!found || found->phase != state::kCompleted) return out;
  const auto& rec = *found;
  auto p = plan::plan_from_json(rec.plan);
  auto monitor = make_monitor(p);
  monitor->set_stage("completed");
  monitor->set_can_act(false);
  monitor->attach(rec.id);
  say(
      fmt::format("watching {}'s guards for {} after complete (nothing can be undone now: a "
                  "tripped guard is recorded as an alert) ...",
                  rec.name, human_duration(duration.count() / 1000.0)));
  try {
    // An alert settles the outcome (complete exits 1): no need to wait on.
    monitor->run_for(duration, [&] { return monitor->alerts() > 0; });
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kInterrupted) throw;
    say("stopped watching (interrupted)");
  }
  out.tripped = monitor->tripped();
  out.decisions = monitor->decisions();
  return out;
}

}  // namespace colshift::run
