// The backfill: fills a new column for rows that existed before the
// dual-write trigger, one primary-key range per short transaction.
//
// The key space (up to the largest key when the backfill first started) is
// split once into ranges (colshift.backfill_range), each with its own
// checkpoint; `workers` sessions take ranges from a shared queue and fill
// them in parallel. Every worker passes the same gate before each batch
// (control row, throttle signals, the load governor), and the progress is
// their sum. One range per worker, fixed at the first run: a resumed run (after
// kill -9, with any --workers) visits exactly the same keys.
//
// Each batch finds its upper key (keyset: ORDER BY key OFFSET size-1), runs
// one UPDATE computing every new column of the table in the statement (the
// trigger is switched off for that statement only), and writes the checkpoint in the same
// transaction, so a resumed backfill (after kill -9, a lost connection or a server restart) redoes
// no committed batch. Only keys up to the largest key seen when the backfill first started are
// visited: rows inserted later were filled by the trigger. Lock timeouts and deadlocks give way:
// the batch is rolled back, shrunk and retried after a backoff, so the application never waits on
// it for longer than lock_timeout.
//
// Before every batch the backfill reads the control row (pause, abort and
// throttle overrides set by other colshift processes) and checks the throttle
// signals (throttle.h); while any says wait, it sleeps and reports why, in the
// progress line and in colshift.backfill.throttle for `colshift status`.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "backfill/batch_sizer.h"
#include "backfill/governor.h"
#include "backfill/throttle.h"
#include "dialect/connection.h"
#include "dialect/dialect.h"
#include "plan/plan.h"
#include "state/state.h"
#include "util/clock.h"

namespace colshift::backfill {

struct Progress {
  long long rows_done = 0;    // rows filled so far (all runs)
  long long rows_total = -1;  // estimate; -1 unknown
  long long batches = 0;      // batches committed in this run
  int batch_size = 0;
  double rows_per_second = 0;   // recent rate
  double eta_seconds = -1;      // -1 unknown
  double elapsed_seconds = 0;   // this run
  std::string throttle_reason;  // non-empty while waiting or slowed
  int workers = 1;              // sessions filling ranges in this run
  bool done = false;
};

struct BackfillOptions {
  BatchSizerOptions sizing;
  std::chrono::milliseconds lock_timeout{500};
  int max_retries = 50;             // per batch, on lock timeout/deadlock
  int max_reconnect_attempts = 30;  // on a lost connection
  std::chrono::milliseconds progress_every{1000};
  ThrottleSettings throttle;
  LoadSettings load;  // the load governor (on by default)
  int workers = 1;    // parallel sessions, each filling its own key ranges
  std::string state_schema = "colshift";
  std::string session_name = "colshift backfill";  // application_name of its session
  // Called before every batch (and after a reconnect): the caller checks that
  // it still holds its migration lock; may throw to stop the backfill.
  std::function<void()> before_batch;
  // Called in the gate before every batch (any worker's thread; must be
  // cheap): why the backfill must wait (a pause guard), or "" to go on; may
  // throw to stop the backfill (a rollback guard).
  std::function<std::string()> guard_hold;
};

using ConnectionFactory = std::function<std::unique_ptr<Connection>()>;
using ProgressSink = std::function<void(const Progress&)>;

class Backfill {
 public:
  // Opens its own sessions with `connect`; state goes through the batch session.
  Backfill(const Dialect& dialect, ConnectionFactory connect, Clock& clock,
           BackfillOptions options);

  // Fills spec's columns for migration `migration_id`, plan step `step`.
  // Returns the total rows filled. Throws Error(kChangeFailed) naming the
  // first row an expression fails for (or gives NULL for a NOT NULL column),
  // found by halving the failed batch read-only; throws when `colshift abort`
  // asked it to stop (Error kChangeFailed). The checkpoint stays before the
  // failed batch either way, so a re-run resumes there.
  long long run(const plan::BackfillSpec& spec, long long migration_id, int step,
                const ProgressSink& sink);

 private:
  struct Shared;
  struct Worker;

  std::unique_ptr<Connection> open_session();
  // The key ranges of this backfill: made (and recorded) on the first run.
  std::vector<state::BackfillRange> ranges(Connection& conn, state::StateStore& state,
                                           const plan::BackfillSpec& spec, long long id, int step,
                                           const state::BackfillCheckpoint& cp,
                                           const std::vector<std::string>& max_key);
  // One worker: takes ranges from the queue until none is left or the run stops.
  void work(Worker& w, Shared& sh, const plan::BackfillSpec& spec, long long id, int step);
  // Fills one range; returns when it is done or the run stops.
  void fill_range(Worker& w, Shared& sh, const plan::BackfillSpec& spec, long long id, int step,
                  state::BackfillRange& range);
  // Waits while paused, throttled or slowed by the governor; throws on abort.
  // Returns the batch size override from the control row (0: none).
  int gate(Worker& w, Shared& sh, const plan::BackfillSpec& spec, long long id, int step);

  [[noreturn]] void throw_row_failure(Connection& conn, const plan::BackfillSpec& spec,
                                      const std::vector<std::string>& after,
                                      const std::vector<std::string>& upto, const DbError& e);

  const Dialect& dialect_;
  ConnectionFactory connect_;
  Clock& clock_;
  BackfillOptions options_;
};

}  // namespace colshift::backfill
