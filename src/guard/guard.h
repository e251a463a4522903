// Guards: signals colshift watches while a migration is in flight, and what
// it does when one goes bad (issue 10 §1). This file is the pure part: the
// model of a guard as the migration file writes it, and the decision logic
// (thresholds, baseline ratios, consecutive counting, fail closed), with no
// connection, process or clock; monitor.h reads the signals and acts.
//
// A guard (migration key `guards:`, a list; the loader documents the syntax):
//   name          unique in the file
//   source        exactly one of
//                   sql: a query returning one number (first column, first row)
//                   command: an executable printing one number on stdout;
//                            a list is argv (no shell), a string runs with sh -c
//                   builtin: rollback_ratio | deadlocks | trigger_failures |
//                            lock_waiters | idle_in_transaction | replica_lag |
//                            wal_rate | autovacuum (the database's own signals,
//                            read by the dialect)
//   threshold     max (breach when value > max), min (breach when value < min),
//                 max_ratio (breach when value > max_ratio × baseline; values at
//                 or below ignore_below never breach a ratio); at least one
//   policy        pause | rollback | warn (what a tripped guard does)
//   interval      how often it is read (default 5s); timeout (for sql and
//                 command reads, default 5s)
//   breach_after  consecutive breaching reads that trip it (default 1)
//   fail_after    consecutive failed reads (error, timeout, empty or
//                 non-numeric result) that trip it (default 3): a guard that
//                 cannot be read fails closed, it never passes silently
//
// Counting is consecutive, never cumulative: one healthy read resets both
// counters (Flagger's cumulative failure counter trips on noise spread over
// hours; its issue 1801).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace colshift::guard {

enum class Policy { kPause, kRollback, kWarn };
enum class Builtin {
  kNone,
  kRollbackRatio,      // Δxact_rollback ÷ Δ(xact_commit + xact_rollback) since the last read
  kDeadlocks,          // Δdeadlocks since the last read
  kTriggerFailures,    // writes whose `up` failed inside colshift's trigger (total so far)
  kLockWaiters,        // sessions waiting on a lock on the migration's tables now
  kIdleInTransaction,  // sessions idle in transaction for longer than 60 s now
  kReplicaLag,         // the largest replay lag of a streaming replica now, seconds
  kWalRate,            // WAL bytes written per second since the last read
  kAutovacuum,         // autovacuum workers on the migration's tables now
};

struct GuardSpec {
  std::string name;
  std::string sql;                   // source sql:
  std::vector<std::string> command;  // source command: argv
  Builtin builtin = Builtin::kNone;  // source builtin:
  std::optional<double> max;
  std::optional<double> min;
  std::optional<double> max_ratio;
  double ignore_below = 0;
  Policy policy = Policy::kWarn;
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds timeout{5000};
  int breach_after = 1;
  int fail_after = 3;
  std::string where;  // "file:line:col" of the guard in its file; empty for defaults

  bool uses_baseline() const { return max_ratio.has_value(); }
};

const char* policy_name(Policy p);
std::optional<Policy> parse_policy(std::string_view s);
const char* builtin_name(Builtin b);
std::optional<Builtin> parse_builtin(std::string_view s);
// Every built-in's name, for messages.
std::vector<std::string> builtin_names();

// "sql: SELECT ...", "command: curl -s ...", "builtin: rollback_ratio".
std::string source_text(const GuardSpec& g);
// "> 5", "< 10", "> 3× baseline (ignored at or below 0.01)", joined with " or ".
std::string threshold_text(const GuardSpec& g);

nlohmann::json to_json(const GuardSpec& g);
GuardSpec guard_from_json(const nlohmann::json& j);

// The built-in guards every migration gets unless its file names the same
// built-in itself (then the file's replaces it): the rollback ratio (above
// 10%, 2 reads in a row), new deadlocks, and the trigger's failures; all
// `warn`, so they record without acting, and none needs a baseline.
std::vector<GuardSpec> default_guards();
// `file` with the defaults it does not replace appended.
std::vector<GuardSpec> with_defaults(std::vector<GuardSpec> file);

// One read of a guard: a value, or why there is none. A read with neither
// (a delta's first sample) is no reading at all: it counts for nothing.
struct Reading {
  std::optional<double> value;
  std::string error;  // the read failed: error, timeout, empty or non-numeric output
};

enum class Health { kOk, kBreach, kUnreadable, kUnknown };
const char* health_name(Health h);

// What one reading did to a guard.
struct Verdict {
  Health health = Health::kUnknown;
  bool tripped = false;  // the guard is tripped after this reading
  bool changed = false;  // and was not before (or was, and is not now): a decision
  int breaches = 0;      // consecutive breaching reads
  int failed_reads = 0;  // consecutive failed reads
  std::optional<double> value;
  std::string reason;  // why it is tripped or breaching, with the values
};

// Counts one guard's readings. Not thread-safe; one owner.
class Tracker {
 public:
  explicit Tracker(GuardSpec spec) : spec_(std::move(spec)) {}
  const GuardSpec& spec() const { return spec_; }
  void set_baseline(std::optional<double> b) { baseline_ = b; }
  std::optional<double> baseline() const { return baseline_; }
  bool tripped() const { return tripped_; }
  // Whether `value` is past a threshold; `why` gets e.g. "12 > max 5".
  bool breaches(double value, std::string* why) const;
  Verdict observe(const Reading& r);

 private:
  GuardSpec spec_;
  std::optional<double> baseline_;
  int breaches_ = 0;
  int failed_ = 0;
  bool tripped_ = false;
};

// Parses a command guard's output: one number, surrounding white space
// allowed. Returns the error text for anything else ("" on success).
std::string parse_number(std::string_view text, double& out);

}  // namespace colshift::guard
