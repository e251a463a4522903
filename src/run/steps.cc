// The runner's step kinds that are more than a statement list: index builds
// (with an orphaned build and an INVALID leftover handled), the fill of rows
// still without a value, CHECKs added NOT VALID and validated, the old-writer
// check, and the report of what a waiting statement waits for.
#include <fmt/format.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "backfill/probe.h"
#include "run/runner.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/text.h"

namespace colshift::run {

using plan::Step;

void Runner::with_wait_report(const std::function<void()>& fn) {
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  const int pid = main_->backend_pid();
  std::thread reporter([&] {
    std::unique_ptr<Connection> watcher;
    std::unique_lock<std::mutex> lk(mu);
    auto next = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!cv.wait_until(lk, next, [&] { return finished; })) {
      next = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      try {
        if (!watcher) watcher = connect_();
        auto r = watcher->exec(dialect_.blocking_sessions_sql(), {std::to_string(pid)});
        std::vector<std::string> who;
        for (size_t i = 0; i < r.size(); ++i) {
          who.push_back(fmt::format("pid {} ({} for {} s: {})", r.text(i, 0), r.text(i, 1),
                                    r.text(i, 2), r.text(i, 3)));
        }
        if (!who.empty()) {
          say(
              fmt::format("    waiting for older transactions to end: {}; reads and writes "
                          "continue meanwhile (Ctrl-C stops colshift and cancels the wait)",
                          join(who, ", ")));
        }
      } catch (const std::exception&) {
        watcher.reset();
      }
    }
  });
  auto finish = [&] {
    {
      std::lock_guard<std::mutex> lk(mu);
      finished = true;
    }
    cv.notify_all();
    reporter.join();
  };
  try {
    fn();
  } catch (...) {
    finish();
    throw;
  }
  finish();
}

void Runner::create_index(const Step& s, const RetryLog& log) {
  if (main_->exec(s.done_check).boolean(0, 0)) return;
  // A build of this index still running on the server (a killed colshift's)
  // must end before its INVALID leftover can be dropped: orphans were ended
  // when the lock was taken; wait for the server to finish ending them.
  for (int i = 0; i < 600; ++i) {
    if (main_->exec(dialect_.index_builders_sql(), {s.index_lookup}).empty()) break;
    if (i == 0) say("    waiting for an earlier build of this index to end");
    clock_.sleep_for(std::chrono::milliseconds(100));
  }
  auto inv = main_->exec("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)",
                         {s.index_lookup});
  if (!inv.empty() && inv.boolean(0, 0)) {
    say("    dropping the INVALID index left by an earlier failed build");
    with_wait_report([&] {
      run_outside_transaction(*main_, {"DROP INDEX CONCURRENTLY IF EXISTS " + s.index_name},
                              std::chrono::milliseconds(0), options_.retry, clock_, log);
    });
  }
  try {
    // SHARE UPDATE EXCLUSIVE blocks no reads or writes, so waiting for it
    // (and for older transactions) is harmless: no lock_timeout.
    with_wait_report([&] {
      run_outside_transaction(*main_, s.sql, std::chrono::milliseconds(0), options_.retry, clock_,
                              log);
    });
  } catch (const DbError& e) {
    if (!e.connection_lost()) {
      // Leave no INVALID index behind (a cancel included: the build stopped).
      run_outside_transaction(*main_, {"DROP INDEX CONCURRENTLY IF EXISTS " + s.index_name},
                              std::chrono::milliseconds(0), options_.retry, clock_, log);
    }
    throw;
  }
}

void Runner::fill_missing(const Step& s) {
  const auto& spec = *s.backfill;
  main_->exec(fmt::format("SET lock_timeout = '{}ms'", options_.retry.lock_timeout.count()));
  long long filled = 0;
  for (int attempt = 1;;) {
    interrupt::check();
    try {
      fault::hit("before-commit", *main_);
      long long n = main_->exec(dialect_.fill_missing_sql(spec, options_.state_schema)).affected();
      fault::hit("after-commit", *main_);
      filled += std::max(0LL, n);
      if (n <= 0) break;
    } catch (const DbError& e) {
      if (e.connection_lost() || e.error_class() == DbErrorClass::kCanceled) throw;
      if (e.retryable() && attempt++ < options_.retry.attempts) {
        clock_.sleep_for(backoff_delay(options_.retry, attempt, clock_));
        continue;
      }
      main_->exec("RESET lock_timeout");
      auto f = backfill::find_failing_row(*main_, dialect_, spec, {}, {}, false);
      std::string what = f ? backfill::describe_failure(spec, *f) : std::string(e.what());
      auto missing = main_->exec(dialect_.missing_keys_sql(spec));
      throw Error(ErrorKind::kConflict,
                  fmt::format("complete refused: {} ({} row{} of {} still without a value)", what,
                              missing.size() < 5 ? std::to_string(missing.size()) : "5 or more",
                              missing.size() == 1 ? "" : "s", spec.table),
                  {},
                  (f ? backfill::failure_hint(*f) : std::string("fix those rows")) +
                      "; an UPDATE of the columns 'up' reads fills the row again. Then 'colshift "
                      "complete' again, or 'colshift rollback'. The migration stays active.");
    }
  }
  main_->exec("RESET lock_timeout");
  if (filled > 0) {
    say(fmt::format("    filled {} row{} the trigger had left without a value", filled,
                    filled == 1 ? "" : "s"));
  }
}

void Runner::check_constraint(const Step& s, const RetryLog& log,
                              const std::function<void()>& record) {
  // Added NOT VALID (idempotent), then validated with its record; a row that
  // fails it drops it again, so no app write meets a constraint that does not hold.
  const std::string scope = fault::current();
  {
    fault::Scope add(scope + ".add");
    run_transactional(*main_, {s.sql.at(0)}, {}, nullptr, options_.retry, clock_, s.lock_table,
                      log);
  }
  try {
    fault::Scope validate(scope + ".validate");
    run_transactional(*main_, {s.sql.at(1)}, s.done_check, record, options_.retry, clock_,
                      s.lock_table, log);
  } catch (const DbError& e) {
    if (e.connection_lost() || e.error_class() != DbErrorClass::kConstraint) throw;
    auto keys = main_->exec(s.violations_sql);
    std::vector<std::string> shown;
    for (size_t i = 0; i < keys.size(); ++i) {
      std::vector<std::string> k;
      for (size_t c = 0; c < keys.columns().size(); ++c) k.push_back(keys.text(i, c, "NULL"));
      shown.push_back("(" + join(k, ", ") + ")");
    }
    run_transactional(*main_, s.undo, {}, nullptr, options_.retry, clock_, s.lock_table, log);
    throw Error(ErrorKind::kConflict,
                fmt::format("complete refused: rows of {} fail {} (keys {}{}); the constraint "
                            "was removed again",
                            s.lock_table, s.constraint_name, join(shown, ", "),
                            keys.size() >= 5 ? ", ..." : ""),
                {},
                "fix those rows, then 'colshift complete' again, or 'colshift rollback'. The "
                "migration stays active.");
  }
}

void Runner::quiet_check(const Step& s, const std::string& version) {
  const auto& w = *s.writers;
  auto r = main_->exec(fmt::format(
      "SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {}), "
      "(SELECT last_value FROM {}), (extract(epoch FROM clock_timestamp()) * 1000)::bigint, {}",
      w.old_writes, w.old_write_last,
      w.trigger_failures.empty()
          ? std::string("0")
          : fmt::format("(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {})",
                        w.trigger_failures)));
  long long count = r.integer(0, 0);
  long long last_ms = r.integer(0, 1);  // epoch milliseconds
  long long now_ms = r.integer(0, 2);
  long long failures = r.integer(0, 3);
  if (failures > 0) {
    say(
        fmt::format("    {} write{} of {}.{} had 'up' fail or give NULL inside the trigger (the "
                    "rows were kept; complete fills or names them)",
                    with_commas(failures), failures == 1 ? "" : "s", w.table, w.column));
  }
  if (count == 0 || last_ms <= 0) return;
  double ago = static_cast<double>(now_ms - last_ms) / 1000.0;
  if (ago >= static_cast<double>(options_.quiet_period.count())) {
    say(fmt::format("    {} old-version writes of {}; the latest {} ago, outside the quiet period",
                    with_commas(count), w.column, human_duration(ago)));
    return;
  }
  std::string msg = fmt::format(
      "an application version that does not know column {}.{} wrote {} ago ({} such write{} in "
      "all); once complete makes the column final, such writes may fail",
      w.table, w.column, human_duration(ago), with_commas(count), count == 1 ? "" : "s");
  if (options_.force) {
    say("    --force: " + msg);
    return;
  }
  throw Error(
      ErrorKind::kConflict, msg, {},
      fmt::format("finish rolling out the app version that writes {} (it declares itself with "
                  "application_name={}), wait until no old-version write happened for "
                  "--quiet-period ({}), or pass --force",
                  w.column, plan::version_marker(version),
                  human_duration(static_cast<double>(options_.quiet_period.count()))));
}

}  // namespace colshift::run
