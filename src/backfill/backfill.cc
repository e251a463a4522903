#include "backfill/backfill.h"

#include <fmt/format.h>

#include <cmath>
#include <deque>
#include <nlohmann/json.hpp>

#include "backfill/probe.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/interrupt.h"
#include "util/text.h"

namespace colshift::backfill {
namespace {

std::optional<Key> first_row(const QueryResult& r) {
  if (r.empty()) return std::nullopt;
  Key k;
  for (size_t c = 0; c < r.columns().size(); ++c) k.push_back(r.text(0, c));
  return k;
}

Params concat(std::initializer_list<const Key*> keys) {
  Params p;
  for (const Key* k : keys)
    if (k)
      for (const auto& v : *k) p.emplace_back(v);
  return p;
}

}  // namespace

void Backfill::throw_row_failure(Connection& conn, const plan::BackfillSpec& spec, const Key& after,
                                 const Key& upto, const DbError& e) {
  std::optional<RowFailure> f;
  try {
    f = find_failing_row(conn, dialect_, spec, after, upto, false);
  } catch (const DbError&) {
    throw e;
  }
  std::string what = f ? describe_failure(spec, *f) : std::string(e.what());
  throw Error(ErrorKind::kChangeFailed, "backfill stopped: " + what, {},
              (f ? failure_hint(*f) : std::string("fix the data or the expression")) +
                  ". The batch was rolled back and the checkpoint kept: 'colshift start FILE' "
                  "resumes there once the row is fixed; or 'colshift rollback', fix the file, "
                  "and start it again");
}

Backfill::Backfill(const Dialect& dialect, ConnectionFactory connect, Clock& clock,
                   BackfillOptions options)
    : dialect_(dialect),
      connect_(std::move(connect)),
      clock_(clock),
      options_(std::move(options)) {}

std::unique_ptr<Connection> Backfill::open_session() {
  auto conn = connect_();
  prepare_session(*conn, dialect_, options_.session_name);
  for (const auto& s : dialect_.backfill_session_setup()) conn->exec(s);
  // The backfill waits for row locks at most lock_timeout (below the server's
  // deadlock_timeout), so in any conflict it is the one that gives way.
  conn->exec(fmt::format("SET lock_timeout = '{}ms'", options_.lock_timeout.count()));
  return conn;
}

int Backfill::gate(Connection& conn, state::StateStore& state, const plan::BackfillSpec& spec,
                   long long id, int step, Progress& progress, const ProgressSink& sink) {
  const std::string table = dialect_.qualified(spec.schema, spec.table);
  std::string shown;  // the reason last persisted
  for (;;) {
    interrupt::check();
    auto ctl = state.control();
    // Settings addressed to another run (or none) do not apply here.
    if (ctl.migration_id != id) ctl = state::Control{};
    if (ctl.abort_requested) {
      state.update_control("abort_requested = false", {});
      state.set_throttle_reason(id, step, "");
      state.event(id, "", "aborted", {{"by", ctl.updated_by}, {"rows_done", progress.rows_done}});
      throw Error(ErrorKind::kChangeFailed,
                  fmt::format("backfill aborted by 'colshift abort' ({}) after {} rows",
                              ctl.updated_by, with_commas(progress.rows_done)),
                  {},
                  "the checkpoint is kept: 'colshift start FILE' resumes it, 'colshift rollback' "
                  "undoes it");
    }
    ThrottleSettings s = options_.throttle;
    if (ctl.max_rate) s.max_rate = *ctl.max_rate;
    if (ctl.max_replica_lag_ms)
      s.max_replica_lag = std::chrono::milliseconds(*ctl.max_replica_lag_ms);
    if (ctl.max_lock_waiters) s.max_lock_waiters = *ctl.max_lock_waiters;
    if (ctl.throttle_query) s.probe_sql = *ctl.throttle_query;
    if (ctl.throttle_max) s.probe_max = *ctl.throttle_max;
    std::string reason = ctl.paused ? fmt::format("paused by 'colshift pause' ({})", ctl.updated_by)
                                    : throttle_.check(conn, s, table);
    if (reason.empty() && s.max_rate > 0 && progress.elapsed_seconds > 0) {
      // Rate ceiling: wait until this run's average is back under it.
      double allowed = s.max_rate * progress.elapsed_seconds;
      double run_rows = static_cast<double>(progress.rows_done - progress_base_);
      if (run_rows > allowed) {
        double wait = (run_rows - allowed) / s.max_rate;
        progress.throttle_reason = fmt::format("max rate {:g} rows/s", s.max_rate);
        if (sink) sink(progress);
        clock_.sleep_for(std::chrono::duration_cast<Clock::Duration>(
            std::chrono::duration<double>(std::min(wait, 5.0))));
        progress.elapsed_seconds += std::min(wait, 5.0);
        continue;
      }
    }
    if (reason != shown) {
      state.set_throttle_reason(id, step, reason);
      shown = reason;
    }
    progress.throttle_reason = reason;
    if (reason.empty()) return ctl.batch_size.value_or(0);
    if (sink) sink(progress);
    clock_.sleep_for(s.wait_step);
  }
}

long long Backfill::run(const plan::BackfillSpec& spec, long long id, int step,
                        const ProgressSink& sink) {
  auto conn = open_session();
  auto cancel = std::make_unique<interrupt::CancelOnInterrupt>(*conn);
  auto state = std::make_unique<state::StateStore>(*conn, options_.state_schema);
  const std::string state_table = state->table("backfill");
  const Params ids = {std::to_string(id), std::to_string(step)};

  auto cp = state->checkpoint(id, step);
  if (!cp) {
    long long total = conn->exec(dialect_.backfill_count_sql(spec)).integer(0, 0, -1);
    BatchSizer probe(options_.sizing);
    state->start_checkpoint(id, step, total, probe.size());
    cp = state->checkpoint(id, step);
  }
  if (cp->done) return cp->rows_done;

  // The upper bound: the largest key once the trigger exists; stored so a
  // resumed run visits exactly the same key space.
  Key max_key;
  {
    auto r =
        conn->exec(fmt::format("SELECT max_key::text FROM {} WHERE migration_id = $1 AND step = $2",
                               state_table),
                   ids);
    if (r.at(0, 0)) {
      max_key = nlohmann::json::parse(*r.at(0, 0)).get<Key>();
    } else {
      auto mk = first_row(conn->exec(dialect_.backfill_max_key_sql(spec)));
      if (!mk) {
        conn->exec(fmt::format("UPDATE {} SET done = true, updated_at = clock_timestamp() "
                               "WHERE migration_id = $1 AND step = $2",
                               state_table),
                   ids);
        return 0;
      }
      max_key = *mk;
      Params p = ids;
      p.emplace_back(nlohmann::json(max_key).dump());
      conn->exec(
          fmt::format("UPDATE {} SET max_key = $3::jsonb WHERE migration_id = $1 AND step = $2",
                      state_table),
          p);
    }
  }

  BatchSizerOptions sizing = options_.sizing;
  if (cp->batch_size > 0 && sizing.fixed == 0) sizing.initial = cp->batch_size;
  BatchSizer sizer(sizing);
  Key after = cp->last_key;
  long long rows_done = cp->rows_done;
  long long rows_total = cp->rows_total;
  progress_base_ = rows_done;
  Progress progress;
  progress.rows_done = rows_done;
  progress.rows_total = rows_total;
  const auto run_start = clock_.now();
  auto last_report = run_start - options_.progress_every;
  std::deque<std::pair<Clock::TimePoint, long long>> recent;  // for the rate

  auto report = [&](bool force) {
    auto now = clock_.now();
    progress.rows_done = rows_done;
    progress.rows_total = std::max(rows_total, rows_done);
    progress.batch_size = sizer.size();
    progress.elapsed_seconds = std::chrono::duration<double>(now - run_start).count();
    if (!force && now - last_report < options_.progress_every) return;
    last_report = now;
    recent.emplace_back(now, rows_done);
    while (recent.size() > 10) recent.pop_front();
    double span = std::chrono::duration<double>(now - recent.front().first).count();
    if (span > 0) {
      progress.rows_per_second = static_cast<double>(rows_done - recent.front().second) / span;
    } else if (progress.elapsed_seconds > 0) {
      progress.rows_per_second =
          static_cast<double>(rows_done - progress_base_) / progress.elapsed_seconds;
    }
    long long left = progress.rows_total - rows_done;
    progress.eta_seconds = progress.rows_per_second > 0 && rows_total >= 0
                               ? static_cast<double>(std::max(0LL, left)) / progress.rows_per_second
                               : -1;
    if (sink) sink(progress);
  };

  bool finished = false;
  int reconnects = 0;
  while (!finished) {
    int attempts = 0;
    for (;;) {
      Key upto;
      try {
        report(false);
        int override_size = gate(*conn, *state, spec, id, step, progress, sink);
        // After the gate's waits, right before the batch: the lock is still ours.
        if (options_.before_batch) options_.before_batch();
        const int size = override_size > 0 ? override_size : sizer.size();
        auto t0 = clock_.now();
        // The batch's upper key; none means the rest fits in one batch.
        Params bp = concat({after.empty() ? nullptr : &after, &max_key});
        bp.emplace_back(std::to_string(size - 1));
        auto upto_row =
            first_row(conn->exec(dialect_.backfill_boundary_sql(spec, !after.empty()), bp));
        upto = upto_row ? *upto_row : max_key;
        bool last = !upto_row || upto == max_key;

        Params params = concat({after.empty() ? nullptr : &after, &upto});
        params.emplace_back(std::to_string(id));
        params.emplace_back(std::to_string(step));
        params.emplace_back(nlohmann::json(upto).dump());
        params.emplace_back(std::to_string(size));
        params.emplace_back(last ? "true" : "false");
        fault::Scope scope(fmt::format("backfill.batch{}", progress.batches + 1));
        fault::hit("before-commit", *conn);
        auto res = conn->exec(
            dialect_.backfill_batch_sql(spec, !after.empty(), options_.state_schema), params);
        fault::hit("after-commit", *conn);
        if (res.empty()) {
          throw Error(
              ErrorKind::kChangeFailed, "the backfill checkpoint row disappeared", state_table,
              "someone changed colshift's state tables; 'colshift rollback' and start again");
        }
        long long filled = res.integer(0, 0);

        sizer.record(size, clock_.now() - t0);
        rows_done += filled;
        after = upto;
        finished = last;
        ++progress.batches;
        reconnects = 0;
        break;
      } catch (const DbError& e) {
        if (e.connection_lost()) {
          // In doubt or not, the checkpoint (same transaction) says what
          // committed: reconnect and continue from it.
          if (++reconnects > options_.max_reconnect_attempts) throw;
          auto wait =
              std::chrono::milliseconds(std::min(10'000LL, 200LL << std::min(reconnects, 6)));
          progress.throttle_reason = fmt::format("connection lost ({}); reconnecting", e.what());
          report(true);
          clock_.sleep_for(wait);
          try {
            auto fresh = open_session();
            auto fresh_state = std::make_unique<state::StateStore>(*fresh, options_.state_schema);
            auto again = fresh_state->checkpoint(id, step);
            cancel.reset();
            conn = std::move(fresh);
            cancel = std::make_unique<interrupt::CancelOnInterrupt>(*conn);
            state = std::move(fresh_state);
            if (options_.before_batch) options_.before_batch();
            if (again) {
              after = again->last_key;
              rows_done = again->rows_done;
              finished = again->done;
            }
            progress.throttle_reason.clear();
          } catch (const DbError&) {
            // Server still away: try again after a longer wait.
          }
          if (finished) break;
          continue;
        }
        try {
          conn->exec("ROLLBACK");
        } catch (...) {
        }
        if (e.error_class() == DbErrorClass::kCanceled) throw;
        if (!e.retryable() && !upto.empty() &&
            (e.error_class() == DbErrorClass::kUserError ||
             e.error_class() == DbErrorClass::kConstraint ||
             e.error_class() == DbErrorClass::kOther)) {
          // A lock lost just before the batch (and a rollback that then
          // dropped the column) looks like a failing expression: check first.
          if (options_.before_batch) options_.before_batch();
          // An expression failed for some row of this batch: name it.
          throw_row_failure(*conn, spec, after, upto, e);
        }
        if (!e.retryable() || ++attempts > options_.max_retries) throw;
        // Give way to the application: smaller batch, wait, try again.
        sizer.back_off();
        double jitter = 0.5 + clock_.random_unit();
        auto wait = std::chrono::milliseconds(static_cast<long long>(
            std::min(5000.0, 50.0 * std::pow(2.0, std::min(attempts, 7))) * jitter));
        progress.throttle_reason =
            fmt::format("gave way to the application ({}); retrying", e.code());
        report(true);
        clock_.sleep_for(wait);
        progress.throttle_reason.clear();
      }
    }
  }
  report(true);
  progress.done = true;
  report(true);
  return rows_done;
}

}  // namespace colshift::backfill
