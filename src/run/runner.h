// The runner: executes a Plan phase by phase, records every step in the state
// tables, and holds the migration lock while it does.
//
// Connections: `main` runs DDL and state updates; `lock` holds the session
// advisory lock (never inside a transaction, so CREATE INDEX CONCURRENTLY does
// not wait for it); the backfill opens its own session.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "backfill/backfill.h"
#include "dialect/connection.h"
#include "dialect/dialect.h"
#include "migration/migration.h"
#include "plan/plan.h"
#include "run/ddl.h"
#include "state/state.h"
#include "util/clock.h"

namespace colshift::run {

struct RunOptions {
  std::string state_schema = "colshift";
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
  MigrationLock(std::unique_ptr<Connection> conn, const std::string& schema);
  // After a lost connection (e.g. a server restart) the lock is gone with its
  // session: reconnects with `connect` and takes it again, or throws
  // Error(kConflict) when another colshift took it meanwhile.
  void ensure(const std::function<std::unique_ptr<Connection>()>& connect);
  ~MigrationLock();
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

 private:
  void acquire();
  std::unique_ptr<Connection> conn_;
  std::string key_sql_;
};

// Outcome of start / migrate for one file.
enum class StartOutcome { kStarted, kResumed, kAlreadyActive, kAlreadyApplied };

class Runner {
 public:
  using ConnectionFactory = std::function<std::unique_ptr<Connection>()>;

  Runner(const Dialect& dialect, ConnectionFactory connect, RunOptions options, RunHooks hooks,
         Clock& clock = Clock::real());
  ~Runner();

  // Plans the migration against the live schema (read-only).
  plan::Plan plan(const migration::Migration& m);

  // Expand, backfill, finish; leaves the migration active. Resumes an
  // interrupted start of the same file. Throws Error(kConflict) when another
  // migration is active or this one's file changed since it started.
  StartOutcome start(const migration::Migration& m);
  // Contracts the active migration (REQUIRES its start finished).
  void complete();
  // Undoes the active migration, from any phase before completed.
  void rollback();

  state::StateStore& state() { return *state_; }

 private:
  void lock();
  void run_steps(long long id, const plan::Plan& p, plan::Phase phase, const std::set<int>& done);
  void run_step(long long id, const plan::Plan& p, size_t index);
  void run_undo(long long id, const plan::Plan& p, size_t index);
  void quiet_check(const plan::Step& step);
  void fail(long long id, const std::string& name, const std::exception& e,
            const std::string& what);
  void say(const std::string& line);

  const Dialect& dialect_;
  ConnectionFactory connect_;
  RunOptions options_;
  RunHooks hooks_;
  Clock& clock_;
  std::unique_ptr<Connection> main_;
  std::unique_ptr<state::StateStore> state_;
  std::unique_ptr<MigrationLock> lock_;
};

}  // namespace colshift::run
