// The guard monitor: reads a migration's guards on their intervals, counts
// their readings (guard.h's Tracker), records every reading in
// colshift.guards and every decision there with its `guard` event (one
// statement), and tells the runner what to do.
//
// Sessions and threads: the monitor owns one session of its own (named
// "colshift guards"); start() runs poll() on a background thread so guards
// never slow a batch, and run_for() polls in the caller's thread (watch). The
// trackers, the session and the previous counter values belong to whichever
// thread polls; what the runner reads (pause_reason(), rollback()) is behind
// `mu_`. A rollback decision is final: rollback() stays set.
//
// Reads: sql guards run in a READ ONLY transaction with a statement_timeout
// of the guard's timeout; a NULL, no row or a non-number is a failed read, as
// is an error. Command guards: command.h. Built-ins: the dialect's statements
// (rollback_ratio and deadlocks are deltas between two reads, after
// pg_stat_clear_snapshot(); their first read only primes them).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dialect/connection.h"
#include "dialect/dialect.h"
#include "guard/guard.h"
#include "state/state.h"
#include "util/clock.h"

namespace colshift::guard {

inline constexpr const char* kGuardSession = "colshift guards";

struct MonitorOptions {
  std::string state_schema = "colshift";
  // Quoted, qualified names of the migration's tables (lock_waiters).
  std::vector<std::string> tables;
  // Quoted, qualified names of the trigger's failure counters (trigger_failures).
  std::vector<std::string> failure_counters;
  double idle_in_transaction_seconds = 60;
  std::function<void(const std::string&)> log;  // one line per decision
  // Called on the polling thread right after a rollback decision is recorded
  // (the runner cancels what its main session runs, so the rollback is fast).
  std::function<void()> on_rollback;
};

// A rollback decision: which guard, and the values that made it.
struct Trip {
  std::string guard;
  std::string reason;
};

class Monitor {
 public:
  using ConnectionFactory = std::function<std::unique_ptr<Connection>()>;
  Monitor(const Dialect& dialect, ConnectionFactory connect, Clock& clock,
          std::vector<GuardSpec> guards, MonitorOptions options);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  bool empty() const { return trackers_.empty(); }

  // Samples every guard for `period` (each at its interval, at least once;
  // twice for the deltas) and takes the mean as its baseline. Throws
  // Error(kBadInput) naming the guard and its place in the file when every
  // read of a guard failed: a guard that cannot be read before the change
  // would only fail closed after it. REQUIRES: not started.
  void sample_baseline(std::chrono::milliseconds period);
  // The migration readings and decisions are recorded for; the stage they
  // are recorded in (expand, backfill, finish, active, completed). Baselines
  // the state already holds for the migration replace sampled ones (a resumed
  // start, a watch). REQUIRES: not started.
  void attach(long long migration_id);
  void set_stage(const std::string& stage);
  // Whether decisions can act: false after complete (rollback is impossible
  // then, and nothing is paused): a tripped guard records `alert` instead.
  void set_can_act(bool can_act);

  // Reads every guard that is due now. Called by the thread, or by run_for.
  void poll();
  // Polls on a background thread until stop().
  void start();
  void stop();
  // Polls in this thread for `duration` (0: until `until` returns true or an
  // interrupt), returning early once `until` returns true (checked each
  // poll) or a rollback is decided.
  void run_for(std::chrono::milliseconds duration, const std::function<bool()>& until);

  // Non-empty while a pause guard is tripped: why.
  std::string pause_reason() const;
  std::optional<Trip> rollback() const;
  // Guards tripped now, and every decision taken so far (name: decision).
  std::vector<std::string> tripped() const;
  int decisions() const { return decisions_; }
  // `alert` decisions so far (a pause or rollback guard tripped when it could not act).
  int alerts() const { return alerts_; }

 private:
  struct Slot {
    explicit Slot(GuardSpec s) : tracker(std::move(s)) {}
    Tracker tracker;
    Clock::TimePoint next{};
    std::optional<std::vector<double>> last_counters;  // built-in deltas
    bool tripped_decided = false;
  };
  Reading read(Slot& s);
  Reading read_sql(const GuardSpec& g);
  Reading read_builtin(Slot& s);
  void record(Slot& s, const Verdict& v);
  Connection& session();

  const Dialect& dialect_;
  ConnectionFactory connect_;
  Clock& clock_;
  MonitorOptions options_;
  std::vector<Slot> trackers_;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<state::StateStore> state_;
  long long migration_id_ = 0;
  std::string stage_ = "expand";
  bool can_act_ = true;
  std::atomic<int> decisions_{0};
  std::atomic<int> alerts_{0};

  mutable std::mutex mu_;                                   // guards pause_, rollback_, tripped_
  std::vector<std::pair<std::string, std::string>> pause_;  // guard, reason
  std::optional<Trip> rollback_;
  std::vector<std::string> tripped_;

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace colshift::guard
