#include "backfill/throttle.h"

#include <fmt/format.h>

#include "util/text.h"

namespace colshift::backfill {

unsigned long long parse_lsn(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return 0;
  unsigned long long hi = std::stoull(text.substr(0, slash), nullptr, 16);
  unsigned long long lo = std::stoull(text.substr(slash + 1), nullptr, 16);
  return (hi << 32) | lo;
}

void Throttle::sample(Connection& conn) {
  auto r =
      conn.exec("SELECT pg_current_wal_lsn()::text, extract(epoch FROM clock_timestamp())::float8");
  auto lsn = parse_lsn(r.text(0, 0));
  double at = std::stod(r.text(0, 1));
  if (wal_.empty() || wal_.back().lsn != lsn) wal_.push_back({at, lsn});
  // Keep an hour of history, at most 20k samples.
  while (wal_.size() > 20000 || (!wal_.empty() && at - wal_.front().at > 3600)) wal_.pop_front();
}

double Throttle::lag_seconds(unsigned long long replay_lsn, double reply_at) const {
  // The first sample beyond the standby's position: the primary had WAL that
  // the standby had not replayed since then.
  for (const auto& s : wal_) {
    if (s.lsn > replay_lsn) return std::max(0.0, reply_at - s.at);
  }
  return 0;
}

std::string Throttle::check_replicas(Connection& conn, std::chrono::milliseconds max_lag) {
  last_lag_ = -1;
  QueryResult r;
  try {
    sample(conn);
    // reply_time exists from PostgreSQL 12; before, "now" stands in for it.
    const char* reply = conn.server_version() >= 120000 ? "reply_time" : "clock_timestamp()";
    r = conn.exec(fmt::format(
        "SELECT coalesce(application_name, ''), coalesce(host(client_addr), 'local'), state, "
        "replay_lsn::text, extract(epoch FROM coalesce({}, clock_timestamp()))::float8 "
        "FROM pg_stat_replication WHERE state <> 'backup'",
        reply));
  } catch (const DbError& e) {
    if (e.connection_lost()) throw;
    return fmt::format("cannot read replication lag ({}); waiting (fail closed)", e.what());
  }
  double worst = -1;
  std::string worst_name;
  for (size_t i = 0; i < r.size(); ++i) {
    std::string name = r.text(i, 0).empty() ? r.text(i, 1) : r.text(i, 0);
    if (!r.at(i, 3)) {
      return fmt::format(
          "cannot read the replay position of standby {} (grant pg_monitor to the "
          "colshift user); waiting (fail closed)",
          name);
    }
    double lag = lag_seconds(parse_lsn(r.text(i, 3)), std::stod(r.text(i, 4)));
    if (lag > worst) {
      worst = lag;
      worst_name = name;
    }
  }
  last_lag_ = worst;
  double limit = static_cast<double>(max_lag.count()) / 1000.0;
  if (worst > limit) {
    return fmt::format("replica lag {} > {} on standby {}", human_duration(worst),
                       human_duration(limit), worst_name);
  }
  return {};
}

std::string Throttle::check(Connection& conn, const ThrottleSettings& s, const std::string& table) {
  if (s.max_replica_lag.count() > 0) {
    auto reason = check_replicas(conn, s.max_replica_lag);
    if (!reason.empty()) return reason;
  }
  if (s.max_lock_waiters >= 0) {
    // Sessions queued for a lock on the table, or waiting on a row lock held
    // by anyone: the application is contending, so the backfill steps back.
    auto r = conn.exec(
        "SELECT count(*) FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock' "
        "AND a.pid <> pg_backend_pid() AND a.datname = current_database() AND "
        "(a.wait_event IN ('tuple', 'transactionid') OR EXISTS (SELECT 1 FROM pg_locks l WHERE "
        "l.pid = a.pid AND NOT l.granted AND l.relation = $1::regclass))",
        {table});
    long long waiters = r.integer(0, 0);
    if (waiters > s.max_lock_waiters) {
      return fmt::format("{} sessions waiting on locks > {}", waiters, s.max_lock_waiters);
    }
  }
  if (!s.probe_sql.empty()) {
    try {
      auto r = conn.exec(s.probe_sql);
      if (r.empty() || r.columns().empty() || !r.at(0, 0)) {
        return "throttle query returned no number; waiting (fail closed)";
      }
      double v = std::stod(*r.at(0, 0));
      if (v > s.probe_max) return fmt::format("throttle query = {:g} > {:g}", v, s.probe_max);
    } catch (const DbError& e) {
      if (e.connection_lost()) throw;
      return fmt::format("throttle query failed ({}); waiting (fail closed)", e.what());
    } catch (const std::exception&) {
      return "throttle query returned something that is not a number; waiting (fail closed)";
    }
  }
  return {};
}

}  // namespace colshift::backfill
