// The runner: executes a Plan phase by phase, records every step in the state
// tables, and holds the migration lock while it does.
//
// Connections: `main` runs DDL and state updates; `lock` holds the session
// advisory lock (never inside a transaction, so CREATE INDEX CONCURRENTLY does
// not wait for it); the backfill opens its own session. Every session gets
// the dialect's session setup (timeouts colshift needs, whatever the role
// sets) and is cancelled on Ctrl-C.
//
// The phase machine (colshift.migrations.phase), and what each command does
// there (tests/integration/core_phase_matrix_test.cc checks every pair):
//
//   phase          start FILE        complete              rollback
//   expanding,     resumes           refuses: start again  undoes
//   backfilling,
//   finishing
//   active         says it is        checks, then          undoes
//                  active            contracts
//   completing     refuses: run      finishes              undoes, unless a
//                  complete                                contract committed
//   rolling_back   refuses: run      refuses: rollback     finishes
//                  rollback
//
// Every phase change that follows a step is recorded in the same transaction
// (or statement) as the step, so no kill leaves a phase that disagrees with
// what committed. Before every step and every backfill batch the runner checks
// that its lock session is alive; a lost lock is taken again only when no one
// else took it and the migration is as the runner left it, and otherwise the
// runner stops.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backfill/backfill.h"
#include "dialect/connection.h"
#include "dialect/dialect.h"
#include "guard/monitor.h"
#include "migration/migration.h"
#include "plan/plan.h"
#include "run/ddl.h"
#include "state/state.h"
#include "util/clock.h"
#include "util/interrupt.h"

namespace colshift::run {

// Backfill sessions when --workers is not given (see bench/results/backfill.md).
inline constexpr int kDefaultWorkers = 2;

// A logical replication subscriber the user named (migration key
// `subscribers`, --subscriber): `label` as named (an environment variable's
// name, or the URL with its password redacted).
struct SubscriberConnection {
  std::string label;
  std::function<std::unique_ptr<Connection>()> connect;
};

// How start treats the subscribers of published tables (plan/downstream.cc).
struct DownstreamOptions {
  std::vector<SubscriberConnection> subscribers;
  // --prepare-subscribers: add the missing columns (nullable, no default) on
  // the named subscribers before the publisher's expand.
  bool prepare = false;
  // --subscribers-ready: the operator vouches for subscribers colshift cannot
  // check; recorded in the stored plan and as an event.
  bool acknowledged = false;
};

// Guards (guard/guard.h): the file's, plus the built-in defaults.
struct GuardOptions {
  // How long start samples each guard before expand (--guard-baseline).
  std::chrono::milliseconds baseline{30'000};
  bool defaults = true;  // add the built-in warn guards (--no-default-guards: not)
};

// What a watch saw: guards tripped, decisions taken, and whether a guard
// rolled the migration back.
struct WatchResult {
  std::vector<std::string> tripped;
  int decisions = 0;
  bool rolled_back = false;
  std::string reason;  // the rollback's
};

struct RunOptions {
  std::string state_schema = "colshift";
  GuardOptions guards;
  DownstreamOptions downstream;
  RetryPolicy retry;
  backfill::BackfillOptions backfill;
  std::chrono::seconds quiet_period{300};
  bool force = false;
};

struct RunHooks {
  std::function<void(const std::string&)> log;  // one line of narration
  backfill::ProgressSink progress;              // backfill progress
};

// The session advisory lock that allows one mutating colshift per database.
// Throws Error(kConflict) naming the holder when another colshift has it.
class MigrationLock {
 public:
  MigrationLock(std::unique_ptr<Connection> conn, const Dialect& dialect,
                const std::string& schema);
  ~MigrationLock();
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

  // Whether the lock's session is still there (then the lock is held: only
  // its own session can release it). One round trip.
  bool held();
  // Takes the lock again on a new session from `connect`; throws
  // Error(kConflict) when another colshift holds it now.
  void retake(std::unique_ptr<Connection> conn);

 private:
  void acquire();
  const Dialect& dialect_;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<interrupt::CancelOnInterrupt> cancel_;
  std::string key_sql_;
};

// Outcome of start / migrate for one file.
enum class StartOutcome { kStarted, kResumed, kAlreadyActive, kAlreadyApplied };

// The commands that work next for a migration in `phase` (for status and
// messages), e.g. "colshift complete", "colshift start FILE".
std::vector<std::string> next_commands(const std::string& phase, bool running, bool contracted,
                                       const std::string& file);

// Reads each named subscriber (Dialect::read_subscriber); one that cannot be
// connected to or read comes back with `error` set.
std::vector<plan::SubscriberFacts> read_subscribers(const Dialect& dialect,
                                                    const migration::Migration& m,
                                                    const plan::CatalogFacts& facts,
                                                    const std::vector<SubscriberConnection>& subs);

class Runner {
 public:
  using ConnectionFactory = std::function<std::unique_ptr<Connection>()>;

  Runner(const Dialect& dialect, ConnectionFactory connect, RunOptions options, RunHooks hooks,
         Clock& clock = Clock::real());
  ~Runner();

  // Plans the migration against the live schema (read-only), reading the
  // named subscribers too (one that cannot be read is planned unreachable).
  plan::Plan plan(const migration::Migration& m);

  // Expand, backfill, finish; leaves the migration active. Resumes an
  // interrupted start of the same file. Before a first start, evaluates each
  // `up` on a sample of existing rows and refuses (Error kBadInput, nothing
  // changed) naming the row it fails for. Throws Error(kConflict) when another
  // migration is active or this one's file changed since it started.
  StartOutcome start(const migration::Migration& m);
  // Contracts the active migration (REQUIRES its start finished): checks
  // that old versions stopped writing, fills or names rows without a value,
  // validates constraints, then contracts. A refusal leaves it active.
  void complete();
  // Undoes the active migration, from any phase before its contract committed.
  void rollback();

  // Watches the active migration's guards (stage `active`) for `duration`
  // (0: until interrupted, or until another command completes or rolls it
  // back). A rollback guard that trips rolls it back here (taking the
  // migration lock). Throws Error(kUsage) when no migration is active,
  // Error(kConflict) while one is still starting (its start watches it).
  WatchResult watch(std::chrono::milliseconds duration);
  // After complete: watches migration `id`'s guards for `duration`
  // (stage `completed`). Nothing can be undone any more, so a tripped guard
  // records an `alert` decision; the result lists them.
  WatchResult watch_completed(long long id, std::chrono::milliseconds duration);

  state::StateStore& state() { return *state_; }

 private:
  std::unique_ptr<Connection> open(const char* session_name);
  void lock();
  void reconnect_main();
  // Before every step and batch: the lock is still ours, or taken again.
  void verify_lock(long long id);
  // Ends sessions a killed colshift left working (an orphaned CREATE INDEX
  // CONCURRENTLY, a backfill batch). REQUIRES: the lock is held.
  void end_orphans();
  void preflight(const migration::Migration& m, const plan::Plan& p);
  // --prepare-subscribers: adds the columns named subscribers lack, then
  // plans again so the plan says what they hold now.
  void prepare_subscribers(const migration::Migration& m, plan::Plan& p);
  void run_steps(long long id, const plan::Plan& p, plan::Phase phase, const std::set<int>& done,
                 const std::string& final_phase, size_t last_pending);
  void run_step(long long id, const plan::Plan& p, size_t index, const std::string& then_phase);
  void run_undo(long long id, const plan::Plan& p, size_t index, const std::string& then_phase);
  // Runs `attempt` (one try of step `step`), reconnecting after a lost
  // session until the state table says the step (in `direction`) committed.
  void until_recorded(long long id, int step, const char* direction,
                      const std::function<void()>& attempt);
  void create_index(const plan::Step& s, const RetryLog& log);
  // Runs `build` (a CREATE INDEX CONCURRENTLY step) between an index_started
  // and an index_completed or index_failed event (index_events.cc).
  void with_index_events(long long id, int step, const plan::Step& s,
                         const std::function<void()>& build);
  // Settles every index_started event of migration `id` left without an
  // outcome (a crash, a lost connection) from the catalog: index_completed
  // when the index is there and valid, index_failed otherwise, each with
  // "reconciled": true. REQUIRES: the migration lock (no build runs).
  void reconcile_index_events(long long id);
  // Records the shapes of the tables plan `p` touches as migration `id`'s
  // `stage` ("before", "after"); a failure to read them is said, not thrown
  // (the change itself is done).
  void record_shapes(long long id, const plan::Plan& p, const char* stage);
  void fill_missing(const plan::Step& s);
  void check_constraint(const plan::Step& s, const RetryLog& log,
                        const std::function<void()>& record);
  void quiet_check(const plan::Step& step, const std::string& version);
  // Runs `fn` on main_ while a second session reports, every few seconds,
  // which sessions main_ waits for.
  void with_wait_report(const std::function<void()>& fn);
  // The guards of plan `p` (with the defaults unless disabled), reading from
  // their own session.
  std::unique_ptr<guard::Monitor> make_monitor(const plan::Plan& p);
  // --guard-baseline when a guard of `p` compares to its baseline (max_ratio), else 0.
  std::chrono::milliseconds guard_baseline_period(const plan::Plan& p) const;
  // Before each step: throws when a guard decided rollback; waits while a
  // pause guard is tripped.
  void guard_gate();
  // A guard decided rollback during start: rolls back, records the reason
  // as the migration's error and throws Error(kChangeFailed) saying so.
  [[noreturn]] void guard_rollback(long long id, const std::string& name);
  [[noreturn]] void stop(long long id, const std::string& name, const std::exception& e,
                         const std::string& what);
  void say(const std::string& line);

  const Dialect& dialect_;
  ConnectionFactory connect_;
  RunOptions options_;
  RunHooks hooks_;
  Clock& clock_;
  std::unique_ptr<Connection> main_;
  std::unique_ptr<interrupt::CancelOnInterrupt> main_cancel_;
  std::unique_ptr<state::StateStore> state_;
  std::unique_ptr<MigrationLock> lock_;
  std::unique_ptr<guard::Monitor> monitor_;  // while start runs
  // Held while main_ is replaced, and by the monitor's thread while it
  // cancels main_'s statement (a rollback decision).
  std::mutex main_mu_;
  std::string command_;  // "start", "complete", "rollback": names fault points
  std::string phase_;    // the phase this runner last recorded
  std::string file_;     // the migration file, for messages
};

}  // namespace colshift::run
