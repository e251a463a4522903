#include "backfill/backfill.h"

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

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

// Keys sampled for the split: enough for even ranges, few enough to read fast.
constexpr double kSplitSampleRows = 20'000;

}  // namespace

// What the workers of one run share; every member behind `mu` unless atomic.
struct Backfill::Shared {
  std::mutex mu;
  std::vector<state::BackfillRange> ranges;
  size_t next = 0;  // the next range in `ranges` to hand out
  std::atomic<bool> stop{false};
  std::exception_ptr error;  // the first worker failure
  std::mutex hook_mu;        // before_batch runs on the caller's session: one at a time
  LoadGovernor* governor = nullptr;

  // Progress, summed over the workers.
  Progress progress;
  long long rows_base = 0;  // rows done before this run (for the rate ceiling)
  Clock::TimePoint run_start;
  Clock::TimePoint last_report;
  std::deque<std::pair<Clock::TimePoint, long long>> recent;  // for the rate
  std::vector<std::string> reasons;                           // per worker
  const ProgressSink* sink = nullptr;

  void fail(std::exception_ptr e) {
    std::lock_guard lock(mu);
    if (!error) error = e;
    stop = true;
  }
};

// One worker's own session and batch sizing.
struct Backfill::Worker {
  int index = 0;
  std::unique_ptr<Connection> conn;
  std::unique_ptr<interrupt::CancelOnInterrupt> cancel;
  std::unique_ptr<state::StateStore> state;
  std::unique_ptr<BatchSizer> sizer;
  std::unique_ptr<Throttle> throttle;
  std::string shown;  // the throttle reason this worker last persisted
  Clock::TimePoint batch_end{};
  Clock::Duration last_busy{0};
  int reconnects = 0;
};

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

int Backfill::gate(Worker& w, Shared& sh, const plan::BackfillSpec& spec, long long id, int step) {
  const std::string table = dialect_.qualified(spec.schema, spec.table);
  auto& state = *w.state;
  auto& conn = *w.conn;
  auto set_reason = [&](const std::string& reason) {
    std::lock_guard lock(sh.mu);
    sh.reasons[w.index] = reason;
    sh.progress.throttle_reason.clear();
    for (const auto& r : sh.reasons)
      if (!r.empty()) {
        sh.progress.throttle_reason = r;
        break;
      }
  };
  auto report_now = [&] {
    std::lock_guard lock(sh.mu);
    if (*sh.sink) (*sh.sink)(sh.progress);
  };
  for (;;) {
    interrupt::check();
    if (sh.stop) return -1;
    auto ctl = state.control();
    // Settings addressed to another run (or none) do not apply here.
    if (ctl.migration_id != id) ctl = state::Control{};
    if (ctl.abort_requested) {
      state.update_control("abort_requested = false", {});
      state.set_throttle_reason(id, step, "");
      long long done = 0;
      {
        std::lock_guard lock(sh.mu);
        done = sh.progress.rows_done;
      }
      state.event(id, "", "aborted", {{"by", ctl.updated_by}, {"rows_done", done}});
      throw Error(ErrorKind::kChangeFailed,
                  fmt::format("backfill aborted by 'colshift abort' ({}) after {} rows",
                              ctl.updated_by, with_commas(done)),
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
    std::string reason =
        ctl.paused ? fmt::format("paused by 'colshift pause' ({})", ctl.updated_by) : std::string();
    if (reason.empty() && options_.guard_hold) reason = options_.guard_hold();
    if (reason.empty()) reason = w.throttle->check(conn, s, table);
    Clock::Duration wait = s.wait_step;
    std::string slowed;  // the governor's reason: the backfill runs, slower
    if (reason.empty() && sh.governor && sh.governor->enabled()) {
      auto& gov = *sh.governor;
      gov.maybe_observe(conn);
      Admission a = gov.admit(w.index, w.last_busy);
      if (w.sizer) w.sizer->set_target_scale(a.batch_scale);
      slowed = a.reason;
      if (a.parked) {
        reason = "waits for its turn: " + a.reason;
        wait = std::chrono::duration_cast<Clock::Duration>(options_.load.sample_every);
      } else {
        auto now = clock_.now();
        auto until = w.batch_end + a.rest;
        if (now < until) {
          // Resting after the last batch: not shown as a wait, the backfill runs slower.
          if (slowed != w.shown) {
            state.set_throttle_reason(id, step, slowed);
            w.shown = slowed;
          }
          set_reason(slowed);
          report_now();
          clock_.sleep_for(std::min<Clock::Duration>(
              until - now,
              std::chrono::duration_cast<Clock::Duration>(options_.load.sample_every)));
          continue;
        }
      }
    }
    if (reason.empty() && s.max_rate > 0) {
      // Rate ceiling, over every worker: wait until this run's average is back under it.
      std::lock_guard lock(sh.mu);
      double elapsed = std::chrono::duration<double>(clock_.now() - sh.run_start).count();
      double run_rows = static_cast<double>(sh.progress.rows_done - sh.rows_base);
      double allowed = s.max_rate * elapsed;
      if (elapsed > 0 && run_rows > allowed) {
        reason = fmt::format("max rate {:g} rows/s", s.max_rate);
        wait = std::chrono::duration_cast<Clock::Duration>(
            std::chrono::duration<double>(std::min((run_rows - allowed) / s.max_rate, 5.0)));
      }
    }
    std::string persisted = reason.empty() ? slowed : reason;
    if (persisted != w.shown) {
      state.set_throttle_reason(id, step, persisted);
      w.shown = persisted;
    }
    set_reason(persisted);
    if (reason.empty()) return ctl.batch_size.value_or(0);
    report_now();
    clock_.sleep_for(wait);
  }
}

std::vector<state::BackfillRange> Backfill::ranges(Connection& conn, state::StateStore& state,
                                                   const plan::BackfillSpec& spec, long long id,
                                                   int step, const state::BackfillCheckpoint& cp,
                                                   const Key& max_key) {
  auto existing = state.ranges(id, step);
  if (!existing.empty()) return existing;
  std::vector<state::BackfillRange> made;
  if (!cp.last_key.empty()) {
    // A backfill started by a colshift from before ranges: its one checkpoint
    // becomes the one range.
    made.push_back({0, {}, max_key, cp.last_key, cp.rows_done, false});
    return state.create_ranges(id, step, made);
  }
  std::vector<Key> splits;
  const int parts = std::max(1, options_.workers);
  if (parts > 1) {
    double total = static_cast<double>(std::max(1LL, cp.rows_total));
    double pct = std::clamp(100.0 * kSplitSampleRows / total, 0.01, 100.0);
    auto r = conn.exec(dialect_.backfill_split_keys_sql(spec, pct, parts), concat({&max_key}));
    for (size_t i = 0; i < r.size(); ++i) {
      Key k;
      for (size_t c = 0; c < r.columns().size(); ++c) k.push_back(r.text(i, c));
      if (k != max_key) splits.push_back(std::move(k));
    }
  }
  Key lo;
  for (size_t i = 0; i <= splits.size(); ++i) {
    Key hi = i < splits.size() ? splits[i] : max_key;
    made.push_back({static_cast<int>(i), lo, hi, {}, 0, false});
    lo = hi;
  }
  return state.create_ranges(id, step, made);
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

  Shared sh;
  sh.ranges = ranges(*conn, *state, spec, id, step, *cp, max_key);
  std::vector<state::BackfillRange> todo;
  for (auto& r : sh.ranges)
    if (!r.done) todo.push_back(r);
  sh.ranges = std::move(todo);
  const int workers = static_cast<int>(
      std::clamp<size_t>(options_.workers, 1, std::max<size_t>(1, sh.ranges.size())));

  sh.sink = &sink;
  sh.progress.rows_done = cp->rows_done;
  sh.progress.rows_total = cp->rows_total;
  sh.progress.workers = workers;
  sh.rows_base = cp->rows_done;
  sh.reasons.assign(workers, "");

  // The load governor: its baseline is the app before the first batch of this run.
  LoadGovernor governor(clock_, options_.load, workers);
  long long left = cp->rows_total - cp->rows_done;
  if (!sh.ranges.empty() && governor.enabled() && left >= options_.load.from_rows) {
    governor.set_queries(dialect_.load_probe_sql(spec), concat({&max_key}),
                         dialect_.active_sessions_sql(), {});
    sh.progress.throttle_reason =
        fmt::format("sampling the app's load for {} (the load throttle's baseline)",
                    human_duration(std::chrono::duration<double>(options_.load.baseline).count()));
    if (sink) sink(sh.progress);
    governor.sample_baseline(*conn);
    sh.progress.throttle_reason.clear();
    sh.governor = &governor;
  }

  sh.run_start = clock_.now();
  sh.last_report = sh.run_start - options_.progress_every;
  std::vector<Worker> ws(workers);
  for (int i = 0; i < workers; ++i) ws[i].index = i;
  if (workers == 1) {
    // One worker: this thread, this session.
    ws[0].conn = std::move(conn);
    ws[0].cancel = std::move(cancel);
    ws[0].state = std::move(state);
    work(ws[0], sh, spec, id, step);
  } else {
    cancel.reset();
    state.reset();
    conn.reset();
    std::vector<std::thread> threads;
    for (auto& w : ws) {
      threads.emplace_back([&, wp = &w] {
        try {
          wp->conn = open_session();
          wp->cancel = std::make_unique<interrupt::CancelOnInterrupt>(*wp->conn);
          wp->state = std::make_unique<state::StateStore>(*wp->conn, options_.state_schema);
          work(*wp, sh, spec, id, step);
        } catch (...) {
          sh.fail(std::current_exception());
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  if (sh.error) std::rethrow_exception(sh.error);

  // Every range done: the backfill is. The worker's session may be gone (a
  // restart during the last batch): a fresh one records it.
  for (int attempt = 0;; ++attempt) {
    try {
      auto& fin = ws[0].conn ? *ws[0].conn : *(ws[0].conn = open_session());
      auto r = fin.exec(fmt::format("UPDATE {} SET done = true, throttle = NULL, updated_at = "
                                    "clock_timestamp() WHERE migration_id = $1 AND step = $2 "
                                    "RETURNING rows_done",
                                    state_table),
                        ids);
      sh.progress.rows_done = r.integer(0, 0);
      break;
    } catch (const DbError& e) {
      if (!e.connection_lost() || attempt >= options_.max_reconnect_attempts) throw;
      ws[0].cancel.reset();
      ws[0].conn.reset();
      clock_.sleep_for(
          std::chrono::milliseconds(std::min(10'000LL, 200LL << std::min(attempt, 6))));
    }
  }
  sh.progress.throttle_reason.clear();
  sh.progress.rows_total = std::max(sh.progress.rows_total, sh.progress.rows_done);
  sh.progress.eta_seconds = 0;
  sh.progress.elapsed_seconds = std::chrono::duration<double>(clock_.now() - sh.run_start).count();
  if (sink) sink(sh.progress);
  sh.progress.done = true;
  if (sink) sink(sh.progress);
  return sh.progress.rows_done;
}

void Backfill::work(Worker& w, Shared& sh, const plan::BackfillSpec& spec, long long id, int step) {
  BatchSizerOptions sizing = options_.sizing;
  {
    auto cp = w.state->checkpoint(id, step);
    if (cp && cp->batch_size > 0 && sizing.fixed == 0) sizing.initial = cp->batch_size;
  }
  w.sizer = std::make_unique<BatchSizer>(sizing);
  w.throttle = std::make_unique<Throttle>(clock_);
  for (;;) {
    state::BackfillRange* range = nullptr;
    {
      std::lock_guard lock(sh.mu);
      if (sh.stop || sh.next >= sh.ranges.size()) return;
      range = &sh.ranges[sh.next++];
    }
    fill_range(w, sh, spec, id, step, *range);
  }
}

void Backfill::fill_range(Worker& w, Shared& sh, const plan::BackfillSpec& spec, long long id,
                          int step, state::BackfillRange& range) {
  Key after = range.last_key.empty() ? range.lo_key : range.last_key;
  const Key& hi = range.hi_key;
  const std::string state_table = w.state->table("backfill");

  auto report = [&](bool force) {
    std::lock_guard lock(sh.mu);
    auto now = clock_.now();
    auto& p = sh.progress;
    p.rows_total = std::max(p.rows_total, p.rows_done);
    p.batch_size = w.sizer->size();
    p.elapsed_seconds = std::chrono::duration<double>(now - sh.run_start).count();
    if (!force && now - sh.last_report < options_.progress_every) return;
    sh.last_report = now;
    sh.recent.emplace_back(now, p.rows_done);
    while (sh.recent.size() > 10) sh.recent.pop_front();
    double span = std::chrono::duration<double>(now - sh.recent.front().first).count();
    if (span > 0) {
      p.rows_per_second = static_cast<double>(p.rows_done - sh.recent.front().second) / span;
    } else if (p.elapsed_seconds > 0) {
      p.rows_per_second = static_cast<double>(p.rows_done - sh.rows_base) / p.elapsed_seconds;
    }
    long long left = p.rows_total - p.rows_done;
    p.eta_seconds = p.rows_per_second > 0 && p.rows_total >= 0
                        ? static_cast<double>(std::max(0LL, left)) / p.rows_per_second
                        : -1;
    if (*sh.sink) (*sh.sink)(p);
  };
  auto set_own_reason = [&](const std::string& reason) {
    std::lock_guard lock(sh.mu);
    sh.reasons[w.index] = reason;
    sh.progress.throttle_reason = reason;
  };
  auto before_batch = [&] {
    if (!options_.before_batch) return;
    std::lock_guard lock(sh.hook_mu);
    options_.before_batch();
  };

  while (!range.done) {
    int attempts = 0;
    for (;;) {
      Key upto;
      try {
        report(false);
        int override_size = gate(w, sh, spec, id, step);
        if (override_size < 0) return;  // another worker failed: stop here
        // After the gate's waits, right before the batch: the lock is still ours.
        before_batch();
        const int size = override_size > 0 ? override_size : w.sizer->size();
        auto t0 = clock_.now();
        // The batch's upper key; none means the rest of the range fits in one batch.
        Params bp = concat({after.empty() ? nullptr : &after, &hi});
        bp.emplace_back(std::to_string(size - 1));
        auto upto_row =
            first_row(w.conn->exec(dialect_.backfill_boundary_sql(spec, !after.empty()), bp));
        upto = upto_row ? *upto_row : hi;
        bool last = !upto_row || upto == hi;

        Params params = concat({after.empty() ? nullptr : &after, &upto});
        params.emplace_back(std::to_string(id));
        params.emplace_back(std::to_string(step));
        params.emplace_back(std::to_string(range.part));
        params.emplace_back(nlohmann::json(upto).dump());
        params.emplace_back(std::to_string(size));
        params.emplace_back(last ? "true" : "false");
        long long batch_no = 0;
        {
          std::lock_guard lock(sh.mu);
          batch_no = ++sh.progress.batches;
        }
        fault::Scope scope(fmt::format("backfill.batch{}", batch_no));
        fault::hit("before-commit", *w.conn);
        auto res = w.conn->exec(
            dialect_.backfill_batch_sql(spec, !after.empty(), options_.state_schema), params);
        fault::hit("after-commit", *w.conn);
        if (res.empty()) {
          throw Error(
              ErrorKind::kChangeFailed, "the backfill checkpoint row disappeared", state_table,
              "someone changed colshift's state tables; 'colshift rollback' and start again");
        }
        long long filled = res.integer(0, 0);
        auto t1 = clock_.now();
        w.sizer->record(size, t1 - t0);
        w.last_busy = t1 - t0;
        w.batch_end = t1;
        {
          std::lock_guard lock(sh.mu);
          sh.progress.rows_done += filled;
        }
        range.rows_done += filled;
        range.last_key = upto;
        after = upto;
        range.done = last;
        w.reconnects = 0;
        break;
      } catch (const DbError& e) {
        if (e.connection_lost()) {
          // In doubt or not, the range's checkpoint (same transaction) says
          // what committed: reconnect and continue from it.
          if (++w.reconnects > options_.max_reconnect_attempts) throw;
          auto wait =
              std::chrono::milliseconds(std::min(10'000LL, 200LL << std::min(w.reconnects, 6)));
          set_own_reason(fmt::format("connection lost ({}); reconnecting", e.what()));
          report(true);
          clock_.sleep_for(wait);
          try {
            auto fresh = open_session();
            auto fresh_state = std::make_unique<state::StateStore>(*fresh, options_.state_schema);
            auto again = fresh_state->range(id, step, range.part);
            w.cancel.reset();
            w.conn = std::move(fresh);
            w.cancel = std::make_unique<interrupt::CancelOnInterrupt>(*w.conn);
            w.state = std::move(fresh_state);
            w.shown.clear();
            before_batch();
            if (again) {
              std::lock_guard lock(sh.mu);
              sh.progress.rows_done += again->rows_done - range.rows_done;
              range.rows_done = again->rows_done;
              range.last_key = again->last_key;
              range.done = again->done;
              after = range.last_key.empty() ? range.lo_key : range.last_key;
            }
            set_own_reason("");
          } catch (const DbError&) {
            // Server still away: try again after a longer wait.
          }
          if (range.done) break;
          continue;
        }
        try {
          w.conn->exec("ROLLBACK");
        } catch (...) {
        }
        if (e.error_class() == DbErrorClass::kCanceled) throw;
        if (!e.retryable() && !upto.empty() &&
            (e.error_class() == DbErrorClass::kUserError ||
             e.error_class() == DbErrorClass::kConstraint ||
             e.error_class() == DbErrorClass::kOther)) {
          // A lock lost just before the batch (and a rollback that then
          // dropped the column) looks like a failing expression: check first.
          before_batch();
          // An expression failed for some row of this batch: name it.
          throw_row_failure(*w.conn, spec, after, upto, e);
        }
        if (!e.retryable() || ++attempts > options_.max_retries) throw;
        // Give way to the application: smaller batch, wait, try again.
        w.sizer->back_off();
        double jitter = 0.5 + clock_.random_unit();
        auto wait = std::chrono::milliseconds(static_cast<long long>(
            std::min(5000.0, 50.0 * std::pow(2.0, std::min(attempts, 7))) * jitter));
        set_own_reason(fmt::format("gave way to the application ({}); retrying", e.code()));
        report(true);
        clock_.sleep_for(wait);
        set_own_reason("");
      }
    }
  }
}

}  // namespace colshift::backfill
