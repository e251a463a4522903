// The statements guards read the database's own signals with (guard/monitor.h).
#include "dialect/postgres/postgres_dialect.h"

namespace colshift::postgres {

std::string PostgresDialect::stats_clear_snapshot_sql() const {
  return "SELECT pg_stat_clear_snapshot()";
}

std::string PostgresDialect::database_counters_sql() const {
  return "SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database "
         "WHERE datname = current_database()";
}

std::string PostgresDialect::counter_total_sql() const {
  // pg_sequence_last_value is NULL for a sequence never bumped; to_regclass
  // NULL (and the function's result with it) for one not created yet.
  return "SELECT coalesce(sum(coalesce(pg_sequence_last_value(to_regclass(s)), 0)), 0)::float8 "
         "FROM unnest($1::text[]) AS s";
}

std::string PostgresDialect::table_lock_waiters_sql() const {
  return "SELECT count(*)::float8 FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock' "
         "AND a.pid <> pg_backend_pid() AND a.datname = current_database() AND "
         "(a.wait_event IN ('tuple', 'transactionid') OR EXISTS (SELECT 1 FROM pg_locks l "
         "WHERE l.pid = a.pid AND NOT l.granted AND l.relation = ANY (SELECT to_regclass(t) "
         "FROM unnest($1::text[]) AS t)))";
}

std::string PostgresDialect::idle_in_transaction_sql() const {
  return "SELECT count(*)::float8 FROM pg_stat_activity WHERE datname = current_database() "
         "AND backend_type = 'client backend' AND state LIKE 'idle in transaction%' "
         "AND pid <> pg_backend_pid() "
         "AND clock_timestamp() - state_change > make_interval(secs => $1::float8)";
}

std::string PostgresDialect::replica_lag_sql() const {
  // replay_lag is NULL for a replica that has caught up and seen no new WAL
  // since: no lag.
  return "SELECT coalesce(max(extract(epoch FROM replay_lag)), 0)::float8 "
         "FROM pg_stat_replication";
}

std::string PostgresDialect::wal_position_sql() const {
  // On a standby (where a guard may read), the replayed position.
  return "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
         "ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::float8, "
         "extract(epoch FROM clock_timestamp())::float8";
}

std::string PostgresDialect::autovacuum_on_tables_sql() const {
  return "SELECT count(*)::float8 FROM pg_stat_progress_vacuum v "
         "JOIN pg_stat_activity a ON a.pid = v.pid "
         "WHERE a.backend_type = 'autovacuum worker' AND v.datname = current_database() "
         "AND v.relid = ANY (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)";
}

std::vector<std::string> PostgresDialect::guard_query_begin(long long timeout_ms) const {
  return {"BEGIN READ ONLY",
          "SET LOCAL statement_timeout = " + std::to_string(timeout_ms < 1 ? 1 : timeout_ms)};
}

std::string PostgresDialect::end_transaction_sql(bool commit) const {
  return commit ? "COMMIT" : "ROLLBACK";
}

}  // namespace colshift::postgres
