// Helpers shared by the command files: connecting, building a Runner with
// terminal or JSON reporting, printing.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/cli.h"
#include "dialect/connection.h"
#include "run/runner.h"
#include "util/error.h"

namespace CLI {
class App;
}

namespace colshift::cli {

// Connects to the database from --db / DATABASE_URL / PG* variables.
std::unique_ptr<Connection> connect_db(const GlobalOptions& g);
// A factory for more sessions to the same database.
run::Runner::ConnectionFactory connection_factory(const GlobalOptions& g);

// Options of commands that change the database.
struct ChangeOptions {
  int lock_retries = 30;
  int batch_size = 0;
  std::string batch_target = "100ms";
  int batch_min = 100;
  int batch_max = 50000;
  std::string quiet_period = "5m";
  std::string max_replica_lag = "1s";
  int max_lock_waiters = 4;
  std::string throttle_query;
  std::optional<double> throttle_max;  // required with throttle_query, and only with it
  double max_rate = 0;
  int workers = 0;  // 0: the default (kDefaultWorkers)
  double max_app_slowdown = 2.0;
  std::string load_baseline = "1s";
  long long load_throttle_rows = 100'000;
  bool force = false;
  std::vector<std::string> subscribers;  // --subscriber
  bool subscribers_ready = false;        // --subscribers-ready
  bool prepare_subscribers = false;      // --prepare-subscribers
  std::string guard_baseline = "30s";    // --guard-baseline
  bool no_default_guards = false;        // --no-default-guards
  std::vector<std::string> guards;       // --guard, each a YAML mapping
  std::string watch_for;                 // --watch-for (start, complete)
};
// --guard-baseline and --no-default-guards (start, migrate).
void add_guard_options(CLI::App& sub, ChangeOptions& o);
// --watch-for: how long `what` keeps watching the guards after it finishes.
void add_watch_for_option(CLI::App& sub, ChangeOptions& o, const char* what);
// --watch-for's value (0 when not given).
std::chrono::milliseconds watch_for(const ChangeOptions& o);
void add_backfill_options(CLI::App& sub, ChangeOptions& o);
// --subscriber (plan and start), and with `start` --subscribers-ready and
// --prepare-subscribers.
void add_downstream_options(CLI::App& sub, ChangeOptions& o, bool start);
// The subscribers of `m` (its `subscribers` key) and of --subscriber, each
// once: an environment variable's name is read (Error kUsage when it is not
// set), a URL is checked without connecting. Labels are the variable's name
// or the URL with its password redacted.
std::vector<run::SubscriberConnection> subscriber_connections(
    const migration::Migration& m, const std::vector<std::string>& flags);
void add_complete_options(CLI::App& sub, ChangeOptions& o);
void add_lock_retries_option(CLI::App& sub, ChangeOptions& o);
// The options checked and converted; throws Error(kUsage) naming the flag for
// a value out of range or a contradiction (--batch-max below --batch-min,
// --throttle-max without --throttle-query, ...). Call it before connecting.
run::RunOptions run_options(const GlobalOptions& g, const ChangeOptions& o);

// Throws Error(kUsage) "FLAG must be MIN or more MEANING, not VALUE" when
// value < min; `meaning` is e.g. " (0 = adaptive)" or "".
void check_at_least(const char* flag, long long value, long long min, const char* meaning = "");
// A rows-per-second ceiling: finite and 0 or more (0 = none).
void check_rate(const char* flag, double value);
// Finite (CLI11 reads "nan" and "inf" as numbers).
void check_finite(const char* flag, double value);

// Narration to stderr; progress as a live line on a terminal, or as JSON
// records (one per line on stderr) otherwise.
run::RunHooks make_hooks(const GlobalOptions& g);

// Prints JSON to stdout (pretty on a terminal).
void print_json(const nlohmann::json& j);

// The first line of e.where(): "file:line:col" without its source excerpt.
std::string error_location(const Error& e);

std::string progress_line(const backfill::Progress& p);

}  // namespace colshift::cli
