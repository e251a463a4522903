// Guards' pure parts: thresholds, baseline ratios, consecutive counting,
// fail closed (guard/guard.h); the file syntax and its errors as exact text;
// a command guard's reading (guard/command.h).
#include <gtest/gtest.h>

#include "guard/command.h"
#include "guard/guard.h"
#include "migration/migration.h"
#include "util/error.h"

namespace colshift::guard {
namespace {

Reading value(double v) { return Reading{v, {}}; }
Reading failed(const std::string& why) { return Reading{std::nullopt, why}; }

GuardSpec max_guard(double max, int breach_after = 1, int fail_after = 3) {
  GuardSpec g;
  g.name = "app_errors";
  g.sql = "SELECT 1";
  g.max = max;
  g.breach_after = breach_after;
  g.fail_after = fail_after;
  g.policy = Policy::kRollback;
  return g;
}

TEST(GuardLogic, MaxTripsAboveNotAt) {
  Tracker t(max_guard(5));
  auto v = t.observe(value(5));
  EXPECT_EQ(v.health, Health::kOk);
  EXPECT_FALSE(v.tripped);
  v = t.observe(value(5.5));
  EXPECT_EQ(v.health, Health::kBreach);
  EXPECT_TRUE(v.tripped);
  EXPECT_TRUE(v.changed);
  EXPECT_EQ(v.reason, "5.5 > max 5 (1 in a row, trips at 1)");
}

TEST(GuardLogic, MinTripsBelow) {
  GuardSpec g = max_guard(0);
  g.max.reset();
  g.min = 10;
  Tracker t(g);
  EXPECT_FALSE(t.observe(value(10)).tripped);
  auto v = t.observe(value(9));
  EXPECT_TRUE(v.tripped);
  EXPECT_EQ(v.reason, "9 < min 10 (1 in a row, trips at 1)");
}

TEST(GuardLogic, BreachesCountConsecutivelyNotCumulatively) {
  Tracker t(max_guard(5, 3));
  // Breach, breach, healthy, breach, breach: never three in a row.
  for (double x : {6.0, 7.0, 1.0, 8.0, 9.0}) EXPECT_FALSE(t.observe(value(x)).tripped) << x;
  auto v = t.observe(value(10));
  EXPECT_TRUE(v.tripped);
  EXPECT_TRUE(v.changed);
  EXPECT_EQ(v.breaches, 3);
  // Staying bad is no new decision; one healthy read clears it.
  v = t.observe(value(11));
  EXPECT_TRUE(v.tripped);
  EXPECT_FALSE(v.changed);
  v = t.observe(value(2));
  EXPECT_FALSE(v.tripped);
  EXPECT_TRUE(v.changed);
  EXPECT_EQ(v.breaches, 0);
}

TEST(GuardLogic, UnreadableFailsClosedAfterNTries) {
  Tracker t(max_guard(5, 1, 3));
  auto v = t.observe(failed("timeout"));
  EXPECT_EQ(v.health, Health::kUnreadable);
  EXPECT_FALSE(v.tripped);
  EXPECT_FALSE(t.observe(failed("timeout")).tripped);
  v = t.observe(failed("not a number: 'abc'"));
  EXPECT_TRUE(v.tripped);
  EXPECT_TRUE(v.changed);
  EXPECT_EQ(v.failed_reads, 3);
  EXPECT_EQ(v.reason, "cannot be read (3 in a row, fails closed at 3): not a number: 'abc'");
  // A good read ends it.
  v = t.observe(value(1));
  EXPECT_FALSE(v.tripped);
  EXPECT_EQ(v.failed_reads, 0);
}

TEST(GuardLogic, FailedReadsBetweenGoodOnesDoNotAddUp) {
  Tracker t(max_guard(5, 1, 2));
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(t.observe(failed("x")).tripped);
    EXPECT_FALSE(t.observe(value(1)).tripped);
  }
}

TEST(GuardLogic, AFailedReadNeverClearsATrip) {
  Tracker t(max_guard(5));
  EXPECT_TRUE(t.observe(value(9)).tripped);
  auto v = t.observe(failed("connection lost"));
  EXPECT_TRUE(v.tripped);
  EXPECT_FALSE(v.changed);
}

TEST(GuardLogic, NoReadingCountsForNothing) {
  Tracker t(max_guard(5, 1, 1));
  auto v = t.observe(Reading{});  // a delta's priming read
  EXPECT_EQ(v.health, Health::kUnknown);
  EXPECT_FALSE(v.tripped);
  EXPECT_FALSE(v.changed);
}

TEST(GuardLogic, RatioToBaseline) {
  GuardSpec g = max_guard(0);
  g.max.reset();
  g.max_ratio = 3;
  g.ignore_below = 0.02;
  Tracker t(g);
  t.set_baseline(0.01);
  EXPECT_FALSE(t.observe(value(0.02)).tripped);  // at ignore_below
  EXPECT_FALSE(t.observe(value(0.03)).tripped);  // exactly 3x
  auto v = t.observe(value(0.05));
  EXPECT_TRUE(v.tripped);
  EXPECT_EQ(v.reason, "0.05 > 3× baseline 0.01 (5.0×) (1 in a row, trips at 1)");
}

TEST(GuardLogic, RatioWithoutABaselineNeverPassesSilently) {
  GuardSpec g = max_guard(0);
  g.max.reset();
  g.max_ratio = 2;
  Tracker t(g);  // no baseline sampled (0 s, or a delta with no traffic)
  EXPECT_FALSE(t.observe(value(0)).tripped);
  auto v = t.observe(value(0.5));
  EXPECT_TRUE(v.tripped);
  EXPECT_EQ(v.reason, "0.5 > 2× baseline 0 (1 in a row, trips at 1)");
}

TEST(GuardLogic, DefaultsAreReplacedByTheFilesOwn) {
  auto d = with_defaults({});
  ASSERT_EQ(d.size(), 3u);
  for (const auto& g : d) {
    EXPECT_EQ(g.policy, Policy::kWarn) << g.name;
    EXPECT_FALSE(g.uses_baseline()) << g.name;  // start never waits for them
  }
  GuardSpec mine;
  mine.name = "db rollbacks";
  mine.builtin = Builtin::kRollbackRatio;
  mine.max = 0.1;
  mine.policy = Policy::kRollback;
  auto merged = with_defaults({mine});
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].name, "db rollbacks");
  EXPECT_EQ(merged[1].builtin, Builtin::kDeadlocks);
  EXPECT_EQ(merged[2].builtin, Builtin::kTriggerFailures);
}

TEST(GuardLogic, JsonRoundTrip) {
  GuardSpec g = max_guard(5, 2, 4);
  g.command = {"sh", "-c", "echo 1"};
  g.sql.clear();
  g.max_ratio = 1.5;
  g.ignore_below = 0.5;
  g.interval = std::chrono::milliseconds(250);
  g.timeout = std::chrono::milliseconds(900);
  g.where = "f.yaml:3:5";
  auto back = guard_from_json(to_json(g));
  EXPECT_EQ(to_json(back), to_json(g));
  EXPECT_EQ(source_text(back), "command: echo 1");
  EXPECT_EQ(threshold_text(back), "> 5 or > 1.5× baseline (ignored at or below 0.5)");
}

TEST(GuardLogic, ParseNumber) {
  double v = 0;
  EXPECT_EQ(parse_number(" 12.5\n", v), "");
  EXPECT_EQ(v, 12.5);
  EXPECT_EQ(parse_number("", v), "empty result");
  EXPECT_EQ(parse_number("  \n", v), "empty result");
  EXPECT_EQ(parse_number("12 errors", v), "not a number: '12 errors'");
  EXPECT_EQ(parse_number("nan", v), "not a number: 'nan'");
}

TEST(GuardCommand, ReadsANumberAndFailsOnEverythingElse) {
  using std::chrono::milliseconds;
  double v = 0;
  EXPECT_EQ(read_command_number({"sh", "-c", "echo 42"}, milliseconds(5000), v), "");
  EXPECT_EQ(v, 42);
  EXPECT_EQ(read_command_number({"printf", "%s", "7"}, milliseconds(5000), v), "");
  EXPECT_EQ(v, 7);
  EXPECT_EQ(read_command_number({"sh", "-c", "echo boom >&2; exit 3"}, milliseconds(5000), v),
            "exited 3: boom");
  EXPECT_EQ(read_command_number({"sh", "-c", "echo many words"}, milliseconds(5000), v),
            "not a number: 'many words'");
  EXPECT_EQ(read_command_number({"sh", "-c", "true"}, milliseconds(5000), v), "empty result");
  EXPECT_EQ(read_command_number({"/nonexistent/colshift-guard"}, milliseconds(5000), v),
            "cannot run '/nonexistent/colshift-guard': No such file or directory");
  auto t0 = std::chrono::steady_clock::now();
  // The child keeps stdout open (sleep inherits it): killed with its group at the timeout.
  EXPECT_EQ(read_command_number({"sh", "-c", "sleep 30; echo 1"}, milliseconds(300), v),
            "timed out after 300 ms (killed)");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// --- the file syntax ---

constexpr const char* kFile = "migrations/0007_guarded.yaml";
const std::string kOps =
    "operations:\n"
    "  - raw_sql: { up: SELECT 1, down: SELECT 2 }\n";

std::string load_error(const std::string& guards) {
  try {
    migration::parse_migration("purpose: p\nguards:\n" + guards + kOps, kFile);
    return "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    return e.render();
  }
}

TEST(GuardFile, LoadsEverySource) {
  auto m = migration::parse_migration(
      "purpose: p\n"
      "guards:\n"
      "  - name: app_errors\n"
      "    sql: SELECT count(*) FROM app_errors\n"
      "    max: 5\n"
      "    policy: rollback\n"
      "    interval: 500ms\n"
      "    breach_after: 2\n"
      "    fail_after: 4\n"
      "  - name: p99\n"
      "    command: [curl, -s, 'http://prom/q']\n"
      "    max_ratio: 1.5\n"
      "    ignore_below: 100\n"
      "    timeout: 2s\n"
      "    policy: pause\n"
      "  - name: log\n"
      "    command: grep -c ERROR /var/log/app.log\n"
      "    min: 0\n"
      "  - name: rb\n"
      "    builtin: rollback_ratio\n"
      "    max: 0.1\n" +
          kOps,
      kFile);
  ASSERT_EQ(m.guards.size(), 4u);
  const auto& a = m.guards[0];
  EXPECT_EQ(a.sql, "SELECT count(*) FROM app_errors");
  EXPECT_EQ(*a.max, 5);
  EXPECT_EQ(a.policy, Policy::kRollback);
  EXPECT_EQ(a.interval.count(), 500);
  EXPECT_EQ(a.breach_after, 2);
  EXPECT_EQ(a.fail_after, 4);
  EXPECT_EQ(a.where, "migrations/0007_guarded.yaml:3:5");
  const auto& b = m.guards[1];
  EXPECT_EQ(b.command, (std::vector<std::string>{"curl", "-s", "http://prom/q"}));
  EXPECT_EQ(*b.max_ratio, 1.5);
  EXPECT_EQ(b.ignore_below, 100);
  EXPECT_EQ(b.timeout.count(), 2000);
  EXPECT_EQ(b.policy, Policy::kPause);
  EXPECT_EQ(m.guards[2].command,
            (std::vector<std::string>{"sh", "-c", "grep -c ERROR /var/log/app.log"}));
  EXPECT_EQ(m.guards[2].policy, Policy::kWarn);  // the default
  EXPECT_EQ(m.guards[2].fail_after, 3);
  EXPECT_EQ(m.guards[3].builtin, Builtin::kRollbackRatio);
}

TEST(GuardFile, ErrorsNameTheFileTheGuardAndTheField) {
  EXPECT_EQ(load_error("  - name: e\n    max: 5\n"),
            "migrations/0007_guarded.yaml:3:5: error: guard 'e' needs a source: 'sql', "
            "'command' or 'builtin'\n"
            "      - name: e\n"
            "        ^\n"
            "  hint: sql: a query returning one number; command: a program printing one number; "
            "builtin: one of rollback_ratio, deadlocks, trigger_failures, lock_waiters, "
            "idle_in_transaction, replica_lag, wal_rate, autovacuum");
  EXPECT_EQ(load_error("  - name: e\n    sql: SELECT 1\n"),
            "migrations/0007_guarded.yaml:3:5: error: guard 'e' needs a threshold: 'max', 'min' "
            "or 'max_ratio'\n"
            "      - name: e\n"
            "        ^\n"
            "  hint: max: trips above it; min: trips below it; max_ratio: trips above that many "
            "times its baseline (sampled before expand)");
  EXPECT_EQ(load_error("  - name: e\n    sql: SELECT 1\n    max: 1\n    policy: stop\n"),
            "migrations/0007_guarded.yaml:6:13: error: unknown policy 'stop' in guard 'e'\n"
            "        policy: stop\n"
            "                ^\n"
            "  hint: valid policies: pause (the backfill waits while it is tripped), rollback "
            "(colshift rolls the migration back), warn (recorded only)");
  EXPECT_EQ(load_error("  - name: e\n    sql: SELECT 1\n    max: five\n"),
            "migrations/0007_guarded.yaml:5:10: error: 'max' in guard 'e' must be a number\n"
            "        max: five\n"
            "             ^");
  EXPECT_EQ(load_error("  - name: e\n    sql: SELECT 1\n    max: 1\n    interval: soon\n"),
            "migrations/0007_guarded.yaml:6:15: error: 'interval' in guard 'e' is not a "
            "duration: 'soon'\n"
            "        interval: soon\n"
            "                  ^\n"
            "  hint: write a number with a unit, more than 0: 500ms, 2s, 1m (a bare number is "
            "seconds)");
  EXPECT_EQ(load_error("  - name: e\n    sql: SELECT 1\n    max: 1\n    fail_after: 0\n"),
            "migrations/0007_guarded.yaml:6:17: error: 'fail_after' in guard 'e' must be a whole "
            "number, 1 or more\n"
            "        fail_after: 0\n"
            "                    ^");
  EXPECT_EQ(load_error("  - name: e\n    sql: SELECT 1\n    command: 'true'\n    max: 1\n"),
            "migrations/0007_guarded.yaml:5:14: error: guard 'e' has both 'sql' and 'command': a "
            "guard reads one source\n"
            "        command: 'true'\n"
            "                 ^\n"
            "  hint: keep one of sql, command, builtin");
  EXPECT_EQ(load_error("  - name: e\n    builtin: rollbacks\n    max: 1\n"),
            "migrations/0007_guarded.yaml:4:14: error: unknown builtin 'rollbacks' in guard 'e'\n"
            "        builtin: rollbacks\n"
            "                 ^\n"
            "  hint: valid built-ins: rollback_ratio, deadlocks, trigger_failures, lock_waiters, "
            "idle_in_transaction, replica_lag, wal_rate, autovacuum");
  EXPECT_EQ(load_error("  - name: e\n    sql: SELECT 1\n    max: 1\n    intervall: 2s\n"),
            "migrations/0007_guarded.yaml:6:5: error: unknown key 'intervall' in guard 1\n"
            "        intervall: 2s\n"
            "        ^\n"
            "  hint: valid keys: name, sql, command, builtin, max, min, max_ratio, ignore_below, "
            "policy, interval, timeout, breach_after, fail_after; did you mean 'interval'?");
  EXPECT_EQ(load_error("  - {name: e, sql: SELECT 1, max: 1}\n  - {name: e, sql: SELECT 2, max: "
                       "1}\n"),
            "migrations/0007_guarded.yaml:4:12: error: duplicate guard name 'e'\n"
            "      - {name: e, sql: SELECT 2, max: 1}\n"
            "               ^\n"
            "  hint: guard names are unique in a file: status, history and events name them");
}

}  // namespace
}  // namespace colshift::guard
