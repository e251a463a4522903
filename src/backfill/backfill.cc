#include "backfill/backfill.h"

#include <fmt/format.h>

#include <cmath>
#include <deque>
#include <nlohmann/json.hpp>

#include "util/error.h"

namespace colshift::backfill {
namespace {

using Key = std::vector<std::string>;

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

Backfill::Backfill(const Dialect& dialect, ConnectionFactory connect, state::StateStore& state,
                   Clock& clock, BackfillOptions options)
    : dialect_(dialect), connect_(std::move(connect)), state_(state), clock_(clock), options_(options) {}

std::unique_ptr<Connection> Backfill::open_session() {
  auto conn = connect_();
  for (const auto& s : dialect_.backfill_session_setup()) conn->exec(s);
  // The backfill waits for row locks at most lock_timeout (below the server's
  // deadlock_timeout), so in any conflict it is the one that gives way.
  conn->exec(fmt::format("SET lock_timeout = '{}ms'", options_.lock_timeout.count()));
  return conn;
}

long long Backfill::run(const plan::BackfillSpec& spec, long long id, int step, const ProgressSink& sink) {
  auto conn = open_session();
  std::string state_table = state_.table("backfill");

  // The upper bound: the largest key once the trigger exists; stored so a
  // resumed run visits exactly the same key space.
  auto cp = state_.checkpoint(id, step);
  if (!cp) {
    long long total = conn->exec(dialect_.backfill_count_sql(spec)).integer(0, 0, -1);
    BatchSizer probe(options_.sizing);
    state_.start_checkpoint(id, step, total, probe.size());
    cp = state_.checkpoint(id, step);
  }
  if (cp->done) return cp->rows_done;
  auto max_row = state_.checkpoint(id, step);
  Key max_key;
  {
    auto r = conn->exec(fmt::format("SELECT max_key::text FROM {} WHERE migration_id = $1 AND step = $2",
                                    state_table),
                        {std::to_string(id), std::to_string(step)});
    if (r.at(0, 0)) {
      max_key = nlohmann::json::parse(*r.at(0, 0)).get<Key>();
    } else {
      auto mk = first_row(conn->exec(dialect_.backfill_max_key_sql(spec)));
      if (!mk) {
        // Empty table: nothing to fill.
        conn->exec(fmt::format("UPDATE {} SET done = true, updated_at = clock_timestamp() "
                               "WHERE migration_id = $1 AND step = $2",
                               state_table),
                   {std::to_string(id), std::to_string(step)});
        return 0;
      }
      max_key = *mk;
      conn->exec(fmt::format("UPDATE {} SET max_key = $3::jsonb WHERE migration_id = $1 AND step = $2",
                             state_table),
                 {std::to_string(id), std::to_string(step), nlohmann::json(max_key).dump()});
    }
  }

  BatchSizerOptions sizing = options_.sizing;
  if (cp->batch_size > 0 && sizing.fixed == 0) sizing.initial = cp->batch_size;
  BatchSizer sizer(sizing);
  Key after = cp->last_key;
  long long rows_done = cp->rows_done;
  const long long rows_at_start = rows_done;
  long long rows_total = cp->rows_total;
  Progress progress;
  const auto run_start = clock_.now();
  auto last_report = run_start - options_.progress_every;
  std::deque<std::pair<Clock::TimePoint, long long>> recent;  // for the rate
  int reconnects = 0;

  auto report = [&](bool force) {
    auto now = clock_.now();
    if (!force && now - last_report < options_.progress_every) return;
    last_report = now;
    recent.emplace_back(now, rows_done);
    while (recent.size() > 10) recent.pop_front();
    progress.rows_done = rows_done;
    progress.rows_total = std::max(rows_total, rows_done);
    progress.batch_size = sizer.size();
    progress.elapsed_seconds = std::chrono::duration<double>(now - run_start).count();
    double span = std::chrono::duration<double>(now - recent.front().first).count();
    if (span > 0) {
      progress.rows_per_second = static_cast<double>(rows_done - recent.front().second) / span;
    } else if (progress.elapsed_seconds > 0) {
      progress.rows_per_second = static_cast<double>(rows_done - rows_at_start) / progress.elapsed_seconds;
    }
    long long left = progress.rows_total - rows_done;
    progress.eta_seconds = progress.rows_per_second > 0 && rows_total >= 0
                               ? static_cast<double>(std::max(0LL, left)) / progress.rows_per_second
                               : -1;
    if (sink) sink(progress);
  };

  bool finished = false;
  while (!finished) {
    int attempts = 0;
    for (;;) {
      try {
        const int size = sizer.size();
        auto t0 = clock_.now();
        // The batch's upper key; none means the rest fits in one batch.
        Params bp = concat({after.empty() ? nullptr : &after, &max_key});
        bp.emplace_back(std::to_string(size - 1));
        auto upto_row = first_row(conn->exec(dialect_.backfill_boundary_sql(spec, !after.empty()), bp));
        Key upto = upto_row ? *upto_row : max_key;
        bool last = !upto_row || upto == max_key;

        conn->exec("BEGIN");
        auto res = conn->exec(dialect_.backfill_update_sql(spec, !after.empty(), true),
                              concat({after.empty() ? nullptr : &after, &upto}));
        long long filled = std::max(0LL, res.affected());
        state::BackfillCheckpoint next;
        next.migration_id = id;
        next.step = step;
        next.last_key = upto;
        next.batch_size = size;
        next.done = last;
        state_.save_checkpoint(*conn, next, filled);
        conn->exec("COMMIT");

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
          auto wait = std::chrono::milliseconds(std::min(10'000LL, 200LL << std::min(reconnects, 6)));
          progress.throttle_reason = fmt::format("connection lost ({}); reconnecting", e.what());
          report(true);
          clock_.sleep_for(wait);
          try {
            conn = open_session();
            auto again = state_.checkpoint(id, step);
            if (again) {
              after = again->last_key;
              rows_done = again->rows_done;
              finished = again->done;
            }
            progress.throttle_reason.clear();
          } catch (const DbError&) {
          }
          if (finished) break;
          continue;
        }
        try {
          conn->exec("ROLLBACK");
        } catch (...) {
        }
        if (!e.retryable() || ++attempts > options_.max_retries) throw;
        // Give way to the application: smaller batch, wait, try again.
        sizer.back_off();
        double jitter = 0.5 + clock_.random_unit();
        auto wait = std::chrono::milliseconds(
            static_cast<long long>(std::min(5000.0, 50.0 * std::pow(2.0, std::min(attempts, 7))) * jitter));
        progress.throttle_reason = fmt::format("gave way to the application ({}); retrying", e.code());
        report(true);
        clock_.sleep_for(wait);
        progress.throttle_reason.clear();
      }
    }
    report(finished);
  }
  progress.done = true;
  report(true);
  (void)max_row;
  return rows_done;
}

}  // namespace colshift::backfill
