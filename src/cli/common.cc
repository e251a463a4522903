#include "cli/common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "dialect/dialect.h"
#include "pg/pg_connection.h"
#include "util/text.h"

namespace colshift::cli {

std::unique_ptr<Connection> connect_db(const GlobalOptions& g) {
  auto conn = pg::PgConnection::connect({g.database_url()});
  prepare_session(*conn, postgres_dialect(), "colshift");
  return conn;
}

run::Runner::ConnectionFactory connection_factory(const GlobalOptions& g) {
  std::string url = g.database_url();
  return [url]() -> std::unique_ptr<Connection> { return pg::PgConnection::connect({url}); };
}

void add_backfill_options(CLI::App& sub, ChangeOptions& o) {
  sub.add_option("--batch-size", o.batch_size, "fixed rows per backfill batch (default: adaptive)");
  sub.add_option("--batch-target", o.batch_target, "target time per adaptive batch")
      ->capture_default_str();
  sub.add_option("--batch-min", o.batch_min, "smallest adaptive batch")->capture_default_str();
  sub.add_option("--batch-max", o.batch_max, "largest adaptive batch")->capture_default_str();
  sub.add_option("--lock-retries", o.lock_retries, "tries per DDL step when lock_timeout expires")
      ->capture_default_str();
  sub.add_option("--max-replica-lag", o.max_replica_lag,
                 "pause the backfill while any standby lags more (0 = do not check)")
      ->capture_default_str();
  sub.add_option("--max-lock-waiters", o.max_lock_waiters,
                 "pause the backfill while more sessions wait on locks (-1 = do not check)")
      ->capture_default_str();
  sub.add_option("--throttle-query", o.throttle_query,
                 "SQL returning one number; the backfill waits while it exceeds --throttle-max");
  sub.add_option("--throttle-max", o.throttle_max, "threshold for --throttle-query")
      ->capture_default_str();
  sub.add_option("--max-rate", o.max_rate, "rows per second ceiling for the backfill (0 = none)")
      ->capture_default_str();
}

void add_complete_options(CLI::App& sub, ChangeOptions& o) {
  sub.add_option("--quiet-period", o.quiet_period,
                 "refuse to complete while old app versions wrote within this window")
      ->capture_default_str();
  sub.add_flag("--force", o.force, "complete even if old app versions still write");
}

run::RunOptions run_options(const GlobalOptions& g, const ChangeOptions& o) {
  run::RunOptions r;
  r.state_schema = g.schema;
  r.retry.lock_timeout = g.lock_timeout_ms();
  r.retry.attempts = std::max(1, o.lock_retries);
  r.backfill.lock_timeout = r.retry.lock_timeout;
  r.backfill.sizing.fixed = o.batch_size;
  r.backfill.sizing.target = parse_duration(o.batch_target, "--batch-target");
  r.backfill.sizing.min = std::max(1, o.batch_min);
  r.backfill.sizing.max = std::max(r.backfill.sizing.min, o.batch_max);
  if (o.batch_size > 0) r.backfill.sizing.initial = o.batch_size;
  r.backfill.throttle.max_replica_lag = parse_duration(o.max_replica_lag, "--max-replica-lag");
  r.backfill.throttle.max_lock_waiters = o.max_lock_waiters;
  r.backfill.throttle.probe_sql = o.throttle_query;
  r.backfill.throttle.probe_max = o.throttle_max;
  r.backfill.throttle.max_rate = o.max_rate;
  r.quiet_period = std::chrono::duration_cast<std::chrono::seconds>(
      parse_duration(o.quiet_period, "--quiet-period"));
  r.force = o.force;
  return r;
}

std::string progress_line(const backfill::Progress& p) {
  std::string pct =
      p.rows_total > 0
          ? fmt::format("{:5.1f}%", 100.0 * std::min(1.0, static_cast<double>(p.rows_done) /
                                                              static_cast<double>(p.rows_total)))
          : "    ?%";
  std::string line =
      fmt::format("backfill {} {}/{} rows, {} rows/s, ETA {}, batch {}", pct,
                  with_commas(p.rows_done), p.rows_total >= 0 ? with_commas(p.rows_total) : "?",
                  with_commas(static_cast<long long>(p.rows_per_second)),
                  p.done ? "0 s" : human_duration(p.eta_seconds), with_commas(p.batch_size));
  if (!p.throttle_reason.empty()) line += " [throttled: " + p.throttle_reason + "]";
  return line;
}

run::RunHooks make_hooks(const GlobalOptions& g) {
  run::RunHooks h;
  const bool tty = isatty(STDERR_FILENO) && !g.json;
  h.log = [tty](const std::string& line) {
    if (tty) std::cerr << "\r\033[K";
    std::cerr << line << "\n";
  };
  h.progress = [tty](const backfill::Progress& p) {
    if (tty) {
      std::cerr << "\r\033[K" << progress_line(p) << std::flush;
      if (p.done) std::cerr << "\n";
    } else {
      nlohmann::json j = {{"progress", "backfill"},
                          {"rows_done", p.rows_done},
                          {"rows_total", p.rows_total},
                          {"rows_per_second", std::llround(p.rows_per_second)},
                          {"eta_seconds", p.eta_seconds},
                          {"batch_size", p.batch_size},
                          {"batches", p.batches},
                          {"throttle", p.throttle_reason},
                          {"done", p.done}};
      std::cerr << j.dump() << "\n";
    }
  };
  return h;
}

void print_json(const nlohmann::json& j) {
  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;  // never throw on bytes
  std::cout << j.dump(isatty(STDOUT_FILENO) ? 2 : -1, ' ', false, kReplace) << "\n";
}

}  // namespace colshift::cli
