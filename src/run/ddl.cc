#include "run/ddl.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "dialect/dialect.h"
#include "plan/plan.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/interrupt.h"

namespace colshift::run {

std::chrono::milliseconds backoff_delay(const RetryPolicy& p, int attempt, Clock& clock) {
  double ceiling =
      std::min(static_cast<double>(p.cap.count()),
               static_cast<double>(p.base.count()) * std::pow(2.0, std::max(0, attempt - 1)));
  auto ms = static_cast<long long>(ceiling * clock.random_unit());
  return std::chrono::milliseconds(std::max(10LL, ms));
}

static void rollback_quietly(Connection& conn) {
  try {
    conn.exec("ROLLBACK");
  } catch (...) {
  }
}

std::string describe_lock_holders(Connection& conn, const std::string& table) {
  if (table.empty()) return {};
  try {
    auto dot = table.find('.');
    std::string reg = postgres_dialect().qualified(table.substr(0, dot), table.substr(dot + 1));
    auto r = conn.exec(
        "SELECT DISTINCT a.pid, a.state, extract(epoch FROM clock_timestamp() - "
        "coalesce(a.xact_start, a.query_start))::int, left(regexp_replace(a.query, '\\s+', ' ', "
        "'g'), 60) "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.relation = to_regclass($1) AND l.granted AND l.pid <> pg_backend_pid() LIMIT 5",
        {reg});
    std::vector<std::string> parts;
    for (size_t i = 0; i < r.size(); ++i) {
      parts.push_back(fmt::format("pid {} ({} for {} s: {})", r.text(i, 0), r.text(i, 1),
                                  r.text(i, 2), r.text(i, 3)));
    }
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
    return out;
  } catch (const DbError&) {
    return {};
  }
}

bool run_transactional(Connection& conn, const std::vector<std::string>& statements,
                       const std::string& done_check, const std::function<void()>& record,
                       const RetryPolicy& policy, Clock& clock, const std::string& lock_table,
                       const RetryLog& log) {
  for (int attempt = 1;; ++attempt) {
    interrupt::check();
    try {
      conn.exec("BEGIN");
      conn.exec(fmt::format("SET LOCAL lock_timeout = '{}ms'", policy.lock_timeout.count()));
      bool skip = false;
      if (!done_check.empty()) skip = conn.exec(done_check).boolean(0, 0);
      if (!skip) {
        for (const auto& s : statements) conn.exec(s);
      }
      if (record) record();
      fault::hit("before-commit", conn);
      conn.exec("COMMIT");
      fault::hit("after-commit", conn);
      return !skip;
    } catch (const DbError& e) {
      if (e.connection_lost()) throw;
      rollback_quietly(conn);
      if (!e.retryable()) throw;
      if (attempt >= policy.attempts) {
        std::string holders = describe_lock_holders(conn, lock_table);
        // The holders belong in the message: `where` is rendered as a
        // location prefix ("where: error: ...").
        throw Error(
            ErrorKind::kLockTimeout,
            fmt::format("could not take the lock on {} within lock_timeout {} ms, {} tries{}; "
                        "nothing was changed by this step",
                        lock_table.empty() ? "the table" : lock_table, policy.lock_timeout.count(),
                        attempt, holders.empty() ? std::string{} : "; it is held by " + holders),
            {},
            "end or wait out the long transaction holding it, then run the same command "
            "again: it resumes where it stopped");
      }
      auto wait = backoff_delay(policy, attempt, clock);
      if (log) {
        log(attempt,
            fmt::format("{} ({}); retry {} in {} ms", e.what(), e.code(), attempt, wait.count()));
      }
      clock.sleep_for(wait);
    }
  }
}

void run_outside_transaction(Connection& conn, const std::vector<std::string>& statements,
                             std::chrono::milliseconds session_lock_timeout,
                             const RetryPolicy& policy, Clock& clock, const RetryLog& log) {
  conn.exec(fmt::format("SET lock_timeout = '{}ms'", session_lock_timeout.count()));
  for (size_t i = 0; i < statements.size(); ++i) {
    const auto& s = statements[i];
    for (int attempt = 1;; ++attempt) {
      interrupt::check();
      try {
        if (i + 1 == statements.size()) fault::hit("before-commit", conn);
        conn.exec(s);
        if (i + 1 == statements.size()) fault::hit("after-commit", conn);
        break;
      } catch (const DbError& e) {
        if (!e.retryable() || attempt >= policy.attempts) {
          if (!e.connection_lost()) {
            try {
              conn.exec("RESET lock_timeout");
            } catch (...) {
            }
          }
          throw;
        }
        auto wait = backoff_delay(policy, attempt, clock);
        if (log)
          log(attempt,
              fmt::format("{} ({}); retry {} in {} ms", e.what(), e.code(), attempt, wait.count()));
        clock.sleep_for(wait);
      }
    }
  }
  conn.exec("RESET lock_timeout");
}

}  // namespace colshift::run
