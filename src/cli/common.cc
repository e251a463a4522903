#include "cli/common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <set>

#include "pg/pg_connection.h"
#include "util/text.h"

namespace colshift::cli {

std::unique_ptr<Connection> connect_db(const GlobalOptions& g) {
  // Read-only commands set nothing on their session: they may go through a
  // pooler, where a session setting would reach the next app client.
  return pg::PgConnection::connect({g.database_url()});
}

run::Runner::ConnectionFactory connection_factory(const GlobalOptions& g) {
  std::string url = g.database_url();
  return [url]() -> std::unique_ptr<Connection> { return pg::PgConnection::connect({url}); };
}

void add_backfill_options(CLI::App& sub, ChangeOptions& o) {
  sub.add_option("--batch-size", o.batch_size,
                 "fixed rows per backfill batch (default 0: adaptive)");
  sub.add_option("--batch-target", o.batch_target, "target time per adaptive batch, more than 0")
      ->capture_default_str();
  sub.add_option("--batch-min", o.batch_min, "smallest adaptive batch, 1 or more")
      ->capture_default_str();
  sub.add_option("--batch-max", o.batch_max, "largest adaptive batch, at least --batch-min")
      ->capture_default_str();
  add_lock_retries_option(sub, o);
  sub.add_option("--max-replica-lag", o.max_replica_lag,
                 "pause the backfill while any standby lags more (0 = do not check)")
      ->capture_default_str();
  sub.add_option("--max-lock-waiters", o.max_lock_waiters,
                 "pause the backfill while more sessions wait on locks (-1 = do not check)")
      ->capture_default_str();
  sub.add_option("--throttle-query", o.throttle_query,
                 "SQL returning one number; the backfill waits while it exceeds --throttle-max "
                 "(give both)");
  sub.add_option("--throttle-max", o.throttle_max, "threshold for --throttle-query (give both)");
  sub.add_option("--max-rate", o.max_rate, "rows per second ceiling for the backfill (0 = none)")
      ->capture_default_str();
  sub.add_option("--workers", o.workers,
                 fmt::format("parallel backfill sessions, each filling its own key ranges "
                             "(default {}; the first run fixes the key ranges, one per worker, and "
                             "a resumed run uses at most one worker per unfinished range)",
                             run::kDefaultWorkers));
  sub.add_option("--max-app-slowdown", o.max_app_slowdown,
                 "load throttle: slow the backfill while the app's probe latency or busy sessions "
                 "exceed this many times their baseline (0 = off)")
      ->capture_default_str();
  sub.add_option("--load-baseline", o.load_baseline,
                 "load throttle: how long to sample the app's load before the backfill")
      ->capture_default_str();
  sub.add_option("--load-throttle-rows", o.load_throttle_rows,
                 "load throttle: engage for backfills of at least this many rows")
      ->capture_default_str();
}

void add_guard_options(CLI::App& sub, ChangeOptions& o) {
  sub.add_option("--guard-baseline", o.guard_baseline,
                 "guards: how long to sample the guards before expand when one compares to its "
                 "baseline (max_ratio); 0 = one read")
      ->capture_default_str();
  sub.add_option("--guard", o.guards,
                 "guards: one more guard, a YAML mapping as in the file's guards: list (repeat "
                 "for more), e.g. '{name: lag, builtin: replica_lag, max: 30, policy: pause}'")
      ->type_name("YAML")
      ->allow_extra_args(false);
  sub.add_flag("--no-default-guards", o.no_default_guards,
               "guards: do not add the built-in warn guards (rollback_ratio, deadlocks, "
               "trigger_failures) to the file's");
}

void add_watch_for_option(CLI::App& sub, ChangeOptions& o, const char* what) {
  sub.add_option("--watch-for", o.watch_for,
                 fmt::format("keep reading the migration's guards for this long after {} "
                             "(e.g. 5m)",
                             what));
}

std::chrono::milliseconds watch_for(const ChangeOptions& o) {
  if (o.watch_for.empty()) return std::chrono::milliseconds(0);
  return parse_positive_duration(o.watch_for, "--watch-for",
                                 "leave --watch-for out to stop watching at once");
}

void add_downstream_options(CLI::App& sub, ChangeOptions& o, bool start) {
  sub.add_option("--subscriber", o.subscribers,
                 "a logical replication subscriber of the changed tables (URL, or the name of "
                 "an environment variable holding it; repeatable): colshift checks that it has "
                 "the new columns")
      ->type_name("URL|NAME");
  if (!start) return;
  sub.add_flag("--prepare-subscribers", o.prepare_subscribers,
               "add the new columns (nullable, no default) on the named subscribers before "
               "changing this database");
  sub.add_flag("--subscribers-ready", o.subscribers_ready,
               "vouch that subscribers colshift cannot check already have the new columns "
               "(recorded in the history)");
}

std::vector<run::SubscriberConnection> subscriber_connections(
    const migration::Migration& m, const std::vector<std::string>& flags) {
  std::vector<std::string> all = m.subscribers;
  all.insert(all.end(), flags.begin(), flags.end());
  std::vector<run::SubscriberConnection> out;
  std::set<std::string> seen;
  for (const auto& named : all) {
    if (!seen.insert(named).second) continue;
    const bool variable = !named.empty() && std::all_of(named.begin(), named.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
    std::string url = named;
    if (variable) {
      const char* v = std::getenv(named.c_str());
      if (!v || !*v) {
        throw Error(ErrorKind::kUsage,
                    fmt::format("subscriber {}: environment variable {} is not set", named, named),
                    {}, "set it to the subscriber's connection URL, or name the URL itself");
      }
      url = v;
    }
    pg::check_conninfo(url);
    out.push_back({variable ? named : pg::redact_conninfo(url), [url] {
                     return std::unique_ptr<Connection>(pg::PgConnection::connect({url}));
                   }});
  }
  return out;
}

void add_lock_retries_option(CLI::App& sub, ChangeOptions& o) {
  sub.add_option("--lock-retries", o.lock_retries,
                 "tries per DDL step when lock_timeout expires, 1 or more")
      ->capture_default_str();
}

void add_complete_options(CLI::App& sub, ChangeOptions& o) {
  sub.add_option("--quiet-period", o.quiet_period,
                 "refuse to complete while old app versions wrote within this window")
      ->capture_default_str();
  sub.add_flag("--force", o.force, "complete even if old app versions still write");
}

void check_at_least(const char* flag, long long value, long long min, const char* meaning) {
  if (value < min) {
    throw Error(ErrorKind::kUsage,
                fmt::format("{} must be {} or more{}, not {}", flag, min, meaning, value));
  }
}

void check_finite(const char* flag, double value) {
  if (!std::isfinite(value)) {
    throw Error(ErrorKind::kUsage, fmt::format("{} must be a finite number, not {}", flag, value));
  }
}

void check_rate(const char* flag, double value) {
  check_finite(flag, value);
  if (value < 0) {
    throw Error(ErrorKind::kUsage,
                fmt::format("{} must be 0 or more (0 = no ceiling), not {}", flag, value));
  }
}

run::RunOptions run_options(const GlobalOptions& g, const ChangeOptions& o) {
  check_at_least("--batch-size", o.batch_size, 0, " (0 = adaptive)");
  check_at_least("--batch-min", o.batch_min, 1);
  if (o.batch_max < o.batch_min) {
    throw Error(ErrorKind::kUsage, fmt::format("--batch-max must be at least --batch-min ({}), "
                                               "not {}",
                                               o.batch_min, o.batch_max));
  }
  check_at_least("--lock-retries", o.lock_retries, 1);
  check_at_least("--max-lock-waiters", o.max_lock_waiters, -1, " (-1 = do not check)");
  check_rate("--max-rate", o.max_rate);
  if (o.throttle_max && o.throttle_query.empty()) {
    throw Error(ErrorKind::kUsage, "--throttle-max needs --throttle-query", {},
                "the backfill waits while the query's number exceeds --throttle-max; give both");
  }
  if (!o.throttle_query.empty() && !o.throttle_max) {
    throw Error(ErrorKind::kUsage, "--throttle-query needs --throttle-max", {},
                "the backfill waits while the query's number exceeds --throttle-max; give both");
  }
  if (o.throttle_max) check_finite("--throttle-max", *o.throttle_max);
  check_at_least("--workers", o.workers, 0, " (0 = the default)");
  if (o.workers > 64) {
    throw Error(ErrorKind::kUsage, fmt::format("--workers must be 64 or fewer, not {}", o.workers),
                {}, "each worker is a database session busy with the backfill");
  }
  check_rate("--max-app-slowdown", o.max_app_slowdown);
  if (o.max_app_slowdown > 0 && o.max_app_slowdown < 1) {
    throw Error(ErrorKind::kUsage,
                fmt::format("--max-app-slowdown must be 1 or more (or 0 = off), not {}",
                            o.max_app_slowdown),
                {}, "it is a factor over the app's latency before the backfill; 2 = twice as slow");
  }
  check_at_least("--load-throttle-rows", o.load_throttle_rows, 0);
  run::RunOptions r;
  r.state_schema = g.schema;
  r.retry.lock_timeout = g.lock_timeout_ms();
  r.retry.attempts = o.lock_retries;
  r.backfill.lock_timeout = r.retry.lock_timeout;
  r.backfill.sizing.fixed = o.batch_size;
  r.backfill.sizing.target =
      parse_positive_duration(o.batch_target, "--batch-target",
                              "adaptive batches aim at this time each; the default is 100ms");
  r.backfill.sizing.min = o.batch_min;
  r.backfill.sizing.max = o.batch_max;
  if (o.batch_size > 0) r.backfill.sizing.initial = o.batch_size;
  r.backfill.throttle.max_replica_lag = parse_duration(o.max_replica_lag, "--max-replica-lag");
  r.backfill.throttle.max_lock_waiters = o.max_lock_waiters;
  r.backfill.throttle.probe_sql = o.throttle_query;
  r.backfill.throttle.probe_max = o.throttle_max.value_or(0);
  r.backfill.throttle.max_rate = o.max_rate;
  r.backfill.workers = o.workers > 0 ? o.workers : run::kDefaultWorkers;
  r.backfill.load.max_slowdown = o.max_app_slowdown;
  r.backfill.load.baseline = parse_duration(o.load_baseline, "--load-baseline");
  r.backfill.load.from_rows = o.load_throttle_rows;
  r.quiet_period = std::chrono::duration_cast<std::chrono::seconds>(
      parse_duration(o.quiet_period, "--quiet-period"));
  r.force = o.force;
  r.downstream.prepare = o.prepare_subscribers;
  r.downstream.acknowledged = o.subscribers_ready;
  r.guards.baseline = parse_duration(o.guard_baseline, "--guard-baseline");
  r.guards.defaults = !o.no_default_guards;
  watch_for(o);  // checked before connecting
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

std::string error_location(const Error& e) { return e.where().substr(0, e.where().find('\n')); }

}  // namespace colshift::cli
