// Guards on a real server (issue 10 §1): an app whose error rate rises after
// expand gets its migration rolled back automatically with no row lost; an
// unreadable guard fails closed; a pause guard pauses the backfill and lets
// it go on; a warn guard only records; `watch` rolls back in the active
// window; a guard that cannot be read before expand refuses the start.
#include <cstdio>
#include <iostream>
#include <mutex>

#include "core_helpers.h"

namespace colshift::testing {
namespace {

using namespace std::chrono_literals;

class Guard : public CoreTest {
 protected:
  // users(id, email, n) with `rows` rows, and a migration adding
  // email_domain whose file carries `guards` (YAML list items).
  std::string guarded_migration(const std::string& guards) {
    return migration("0001_users_domain",
                     "purpose: per-domain analytics\n"
                     "guards:\n" +
                         guards +
                         "operations:\n"
                         "  - add_column:\n"
                         "      table: users\n"
                         "      column: { name: email_domain, type: text }\n"
                         "      up: split_part(email, '@', 2)\n");
  }
  // start, throttled so the backfill of `rows` takes a while; guards sampled 0 s.
  std::vector<std::string> slow_start(const std::string& file, const std::string& rate) {
    return {"start",        file,  "--guard-baseline",     "0s",        "--max-rate", rate,
            "--batch-size", "200", "--load-throttle-rows", "100000000", "--workers",  "1"};
  }
  std::vector<nlohmann::json> guard_events() {
    std::vector<nlohmann::json> out;
    auto r = sql("SELECT detail::text FROM colshift.events WHERE kind = 'guard' ORDER BY id");
    for (size_t i = 0; i < r.size(); ++i) out.push_back(nlohmann::json::parse(r.text(i, 0)));
    return out;
  }
};

// The app: inserts a row every few ms and remembers what it wrote; once the
// new column exists (expand), its new code path fails and logs an error per
// write into app_errors (the write itself still commits).
class App {
 public:
  explicit App(std::unique_ptr<pg::PgConnection> conn) : conn_(std::move(conn)) {
    thread_ = std::thread([this] {
      for (long long i = 1; !stop_; ++i) {
        const long long id = 1'000'000 + i;
        const std::string email = "w" + std::to_string(i) + "@new" + std::to_string(i % 7) + ".ex";
        try {
          conn_->exec("INSERT INTO users (id, email, n) VALUES ($1, $2, $3)",
                      {std::to_string(id), email, std::to_string(i % 1000)});
          {
            std::lock_guard lock(mu_);
            written_.push_back({id, email, i % 1000});
          }
          bool expanded = conn_
                              ->exec(
                                  "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid "
                                  "= 'users'::regclass AND attname = 'email_domain' AND NOT "
                                  "attisdropped)")
                              .boolean(0, 0);
          if (expanded) conn_->exec("INSERT INTO app_errors DEFAULT VALUES");
        } catch (const std::exception&) {
          ++failures_;
        }
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  ~App() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  struct Row {
    long long id;
    std::string email;
    long long n;
  };
  std::vector<Row> written() {
    std::lock_guard lock(mu_);
    return written_;
  }
  long long failures() const { return failures_; }

 private:
  std::unique_ptr<pg::PgConnection> conn_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> failures_{0};
  std::mutex mu_;
  std::vector<Row> written_;
  std::thread thread_;
};

TEST_F(Guard, AppErrorRateRiseRollsBackAutomaticallyWithNoRowLost) {
  make_users("users", 20000);
  sql("CREATE TABLE app_errors (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT "
      "clock_timestamp())");
  auto f = guarded_migration(
      "  - name: app_errors\n"
      "    sql: SELECT count(*) FROM app_errors WHERE at > clock_timestamp() - interval '2 s'\n"
      "    max: 5\n"
      "    breach_after: 2\n"
      "    interval: 200ms\n"
      "    policy: rollback\n");
  App app(connect());
  // 20,000 rows at 2,000 rows/s: about 10 s of backfill, far longer than the guard needs.
  auto t0 = std::chrono::steady_clock::now();
  auto r = colshift(slow_start(f, "2000"));
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  app.stop();
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("migration '0001_users_domain' was rolled back: guard app_errors decided "
                       "rollback: "),
            std::string::npos)
      << r.err;
  EXPECT_LT(took, 10.0) << "the backfill ran to its end instead of being stopped";
  EXPECT_EQ(phase_of("0001_users_domain"), "rolled_back");
  EXPECT_FALSE(has_column("users", "email_domain"));
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'users'::regclass AND "
                       "NOT tgisinternal"),
            0);
  // 0 rows lost: every row the app wrote is there with its values.
  auto rows = app.written();
  ASSERT_GT(rows.size(), 20u);
  EXPECT_EQ(app.failures(), 0);
  long long missing = 0;
  for (const auto& w : rows) {
    auto q = sql("SELECT email, n FROM users WHERE id = $1", {std::to_string(w.id)});
    if (q.empty() || q.text(0, 0) != w.email || q.integer(0, 1) != w.n) ++missing;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(scalar_int("SELECT count(*) FROM users"), 20000 + static_cast<long long>(rows.size()));
  // Time from the first app error to the rollback's end (server clock).
  double seconds = std::stod(scalar_text(
      "SELECT extract(epoch FROM (SELECT max(at) FROM colshift.events WHERE kind = 'phase' AND "
      "detail->>'phase' = 'rolled_back') - (SELECT min(at) FROM app_errors))::text"));
  std::cerr << "  first app error to rolled back: " << seconds << " s\n";
  EXPECT_LT(seconds, 5.0);
  // The decision, with the values that caused it: guard row, event, status, history.
  auto ev = guard_events();
  ASSERT_FALSE(ev.empty());
  nlohmann::json rollback;
  for (const auto& e : ev)
    if (e["decision"] == "rollback") rollback = e;
  ASSERT_FALSE(rollback.is_null()) << ev.back().dump();
  EXPECT_EQ(rollback["guard"], "app_errors");
  EXPECT_GT(rollback["value"].get<double>(), 5);
  EXPECT_EQ(rollback["breaches"], 2);
  EXPECT_EQ(rollback["stage"], "backfill");
  auto st = ok({"status"});
  EXPECT_NE(st.out.find("last error: rolled back by guard app_errors: "), std::string::npos)
      << st.out;
  EXPECT_NE(st.out.find("app_errors (rollback): "), std::string::npos) << st.out;
  auto js = nlohmann::json::parse(ok({"--json", "status"}).out);
  EXPECT_EQ(js["last"]["phase"], "rolled_back");
  bool seen = false;
  for (const auto& g : js["last"]["guards"])
    if (g["name"] == "app_errors") {
      seen = true;
      EXPECT_EQ(g["decision"], "rollback");
      EXPECT_TRUE(g["tripped"].get<bool>());
    }
  EXPECT_TRUE(seen) << js.dump();
  auto h = ok({"history"});
  EXPECT_NE(h.out.find(" rollback by guard app_errors ("), std::string::npos) << h.out;
  ok({"docs", dir_, "--out", dir_ + "/docs"});
  auto page = read_text(dir_ + "/docs/0001_users_domain.md");
  EXPECT_NE(page.find("| app_errors | `sql: SELECT count(*) FROM app_errors WHERE at > "
                      "clock_timestamp() - interval '2 s'` | > 5 | rollback | 200 ms | 2 "
                      "breaches or 3 failed reads |"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find(": ended rolled_back (rolled back by guard app_errors: "), std::string::npos)
      << page;
  EXPECT_NE(page.find(": guard app_errors → rollback ("), std::string::npos) << page;
}

TEST_F(Guard, AnUnreadableGuardFailsClosedAfterItsTries) {
  make_users("users", 20000);
  const std::string value_file = dir_ + "/errors.txt";
  write_file("errors.txt", "0\n");
  auto f = guarded_migration(
      "  - name: error_count\n"
      "    command: [cat, '" +
      value_file +
      "']\n"
      "    max: 100\n"
      "    fail_after: 3\n"
      "    interval: 200ms\n"
      "    policy: rollback\n");
  // Once the backfill runs, the source goes away: cat fails on every read.
  std::thread breaker([&] {
    eventually([&] { return rows_done() > 0; }, 30s);
    std::remove(value_file.c_str());
  });
  auto r = colshift(slow_start(f, "2000"));
  breaker.join();
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(phase_of("0001_users_domain"), "rolled_back");
  EXPECT_FALSE(has_column("users", "email_domain"));
  auto ev = guard_events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back()["decision"], "rollback");
  EXPECT_EQ(ev.back()["failed_reads"], 3);
  EXPECT_TRUE(ev.back()["value"].is_null());
  EXPECT_NE(ev.back()["reason"].get<std::string>().find(
                "cannot be read (3 in a row, fails closed at 3): exited 1: cat: "),
            std::string::npos)
      << ev.back().dump();
}

TEST_F(Guard, APauseGuardPausesTheBackfillAndItGoesOnWhenHealthy) {
  make_users("users", 6000);
  sql("CREATE TABLE knob (v int)");
  sql("INSERT INTO knob VALUES (0)");
  auto f = guarded_migration(
      "  - name: knob\n"
      "    sql: SELECT v FROM knob\n"
      "    max: 0\n"
      "    interval: 100ms\n"
      "    policy: pause\n");
  Spawned start(slow_start(f, "1500"), url_, dir_ + "/start.log");
  ASSERT_TRUE(eventually([&] { return rows_done() > 0; }, 30s)) << start.output();
  sql("UPDATE knob SET v = 1");
  ASSERT_TRUE(eventually(
      [&] {
        auto r = sql("SELECT coalesce(throttle, '') FROM colshift.backfill");
        return !r.empty() && r.text(0, 0).find("paused by guard knob: 1 > max 0") == 0;
      },
      10s))
      << start.output();
  long long held = rows_done();
  std::this_thread::sleep_for(1500ms);
  // One batch may have passed the gate before the pause: no more than that.
  EXPECT_LE(rows_done(), held + 200);
  EXPECT_LT(rows_done(), 6000);
  EXPECT_TRUE(start.running());
  sql("UPDATE knob SET v = 0");
  EXPECT_EQ(start.wait(60s), 0) << start.output();
  EXPECT_EQ(phase_of("0001_users_domain"), "active");
  EXPECT_EQ(mismatches("users", "email_domain", "split_part(email, '@', 2)"), 0);
  std::vector<std::string> decisions;
  for (const auto& e : guard_events())
    if (e["guard"] == "knob") decisions.push_back(e["decision"]);
  EXPECT_EQ(decisions, (std::vector<std::string>{"pause", "resume"}));
}

TEST_F(Guard, AWarnGuardOnlyRecords) {
  make_users("users", 2000);
  auto f = guarded_migration(
      "  - name: always_high\n"
      "    sql: SELECT 10\n"
      "    max: 1\n"
      "    interval: 100ms\n");
  auto r = colshift(slow_start(f, "2000"));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(phase_of("0001_users_domain"), "active");
  auto ev = guard_events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.front()["guard"], "always_high");
  EXPECT_EQ(ev.front()["decision"], "warn");
  EXPECT_EQ(ev.front()["value"], 10.0);
  EXPECT_NE(r.err.find("guard always_high: warn (10 > max 1 (1 in a row, trips at 1); "),
            std::string::npos)
      << r.err;
  auto js = nlohmann::json::parse(ok({"--json", "status"}).out);
  bool seen = false;
  for (const auto& g : js["guards"])
    if (g["name"] == "always_high") {
      seen = true;
      EXPECT_TRUE(g["tripped"].get<bool>());
      EXPECT_EQ(g["policy"], "warn");
      EXPECT_EQ(g["threshold"], "> 1");
    }
  EXPECT_TRUE(seen) << js.dump();
}

TEST_F(Guard, ARatioComparesToTheBaselineSampledBeforeExpand) {
  make_users("users", 4000);
  sql("CREATE TABLE knob (v int)");
  sql("INSERT INTO knob VALUES (5)");
  auto f = guarded_migration(
      "  - name: p99\n"
      "    sql: SELECT v FROM knob\n"
      "    max_ratio: 2\n"
      "    interval: 100ms\n");
  // After expand the value quadruples: 20 > 2 x 5.
  std::thread app([&] {
    auto conn = connect();
    eventually([&] { return has_column("users", "email_domain"); }, 30s);
    conn->exec("UPDATE knob SET v = 20");
  });
  auto args = slow_start(f, "2000");
  args[3] = "600ms";  // --guard-baseline
  auto r = colshift(args);
  app.join();
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.err.find("guards: sampling a baseline for 600 ms before expand ..."),
            std::string::npos)
      << r.err;
  EXPECT_EQ(scalar_text("SELECT baseline::text FROM colshift.guards WHERE name = 'p99'"), "5");
  nlohmann::json warn;
  for (const auto& e : guard_events())
    if (e["guard"] == "p99" && warn.is_null()) warn = e;
  ASSERT_FALSE(warn.is_null());
  EXPECT_EQ(warn["decision"], "warn");
  EXPECT_EQ(warn["baseline"], 5.0);
  EXPECT_EQ(warn["reason"], "20 > 2× baseline 5 (4.0×) (1 in a row, trips at 1)");
}

TEST_F(Guard, WatchRollsBackInTheActiveWindow) {
  make_users("users", 500);
  sql("CREATE TABLE knob (v int)");
  sql("INSERT INTO knob VALUES (0)");
  auto f = guarded_migration(
      "  - name: knob\n"
      "    sql: SELECT v FROM knob\n"
      "    max: 0\n"
      "    interval: 100ms\n"
      "    breach_after: 2\n"
      "    policy: rollback\n");
  ok({"start", f, "--guard-baseline", "0s"});
  ASSERT_EQ(phase_of("0001_users_domain"), "active");
  // Healthy: watch ends after its time with nothing decided.
  auto quiet = ok({"watch", "--for", "500ms"});
  EXPECT_NE(quiet.out.find("0001_users_domain: 0 guard decisions."), std::string::npos)
      << quiet.out;
  Spawned watch({"watch"}, url_, dir_ + "/watch.log");
  std::this_thread::sleep_for(300ms);
  sql("INSERT INTO users (id, email) VALUES (100000, 'late@x.example')");
  sql("UPDATE knob SET v = 3");
  EXPECT_EQ(watch.wait(30s), 1) << watch.output();
  EXPECT_NE(watch.output().find("was rolled back: guard knob decided rollback: 3 > max 0 (2 in a "
                                "row, trips at 2)"),
            std::string::npos)
      << watch.output();
  EXPECT_EQ(phase_of("0001_users_domain"), "rolled_back");
  EXPECT_FALSE(has_column("users", "email_domain"));
  EXPECT_EQ(scalar_text("SELECT email FROM users WHERE id = 100000"), "late@x.example");
  auto ev = guard_events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back()["decision"], "rollback");
  EXPECT_EQ(ev.back()["stage"], "active");
}

TEST_F(Guard, AGuardThatCannotBeReadBeforeExpandRefusesTheStart) {
  make_users("users", 100);
  auto f = guarded_migration(
      "  - name: missing\n"
      "    sql: SELECT count(*) FROM no_such_table\n"
      "    max: 1\n"
      "    policy: rollback\n");
  auto r = colshift({"start", f, "--guard-baseline", "0s"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("guard 'missing' cannot be read before the change: "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("0001_users_domain.yaml:3:5: error: "), std::string::npos) << r.err;
  EXPECT_FALSE(has_column("users", "email_domain"));
  EXPECT_EQ(migration_rows(), 0);
}

TEST_F(Guard, CompleteWatchForAlertsWhenARollbackGuardTripsAfterwards) {
  make_users("users", 300);
  sql("CREATE TABLE knob (v int)");
  sql("INSERT INTO knob VALUES (0)");
  auto f = guarded_migration(
      "  - name: knob\n"
      "    sql: SELECT v FROM knob\n"
      "    max: 0\n"
      "    interval: 100ms\n"
      "    policy: rollback\n");
  ok({"start", f, "--guard-baseline", "0s"});
  Spawned complete({"complete", "--quiet-period", "0s", "--watch-for", "20s"}, url_,
                   dir_ + "/complete.log");
  ASSERT_TRUE(eventually([&] { return phase_of("0001_users_domain") == "completed"; }, 30s))
      << complete.output();
  sql("UPDATE knob SET v = 1");
  EXPECT_EQ(complete.wait(40s), 1) << complete.output();
  EXPECT_NE(complete.output().find("0001_users_domain completed, and then guard knob (1 > max 0"),
            std::string::npos)
      << complete.output();
  EXPECT_EQ(phase_of("0001_users_domain"), "completed");
  auto ev = guard_events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back()["decision"], "alert");
  EXPECT_EQ(ev.back()["stage"], "completed");
}

TEST_F(Guard, BuiltinSignalsAreReadAndALockWaiterTripsItsGuard) {
  make_users("users", 3000);
  auto f = guarded_migration(
      "  - {name: lag, builtin: replica_lag, max: 3600, interval: 100ms}\n"
      "  - {name: wal, builtin: wal_rate, max: 1e15, interval: 100ms}\n"
      "  - {name: vacuum, builtin: autovacuum, max: 100, interval: 100ms}\n"
      "  - {name: waiters, builtin: lock_waiters, max: 0, interval: 100ms}\n");
  // An app session holds a row lock and another waits for it: a lock waiter
  // on the migration's table, until the guard has seen it.
  auto holder = connect();
  holder->exec("BEGIN");
  holder->exec("SELECT * FROM users WHERE id = 10 FOR UPDATE");
  std::string waiter_error;
  std::thread waiter([&] {
    try {
      auto w = connect();
      w->exec("UPDATE users SET n = n + 1 WHERE id = 10");
    } catch (const std::exception& e) {
      waiter_error = e.what();
    }
  });
  bool waiting = eventually([&] {
    return scalar_int(
               "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
               "AND query LIKE 'UPDATE users%'") == 1;
  });
  if (!waiting) {
    holder->exec("COMMIT");
    waiter.join();
    FAIL() << "no session waits for the row lock: " << waiter_error << " "
           << scalar_text(
                  "SELECT string_agg(coalesce(wait_event_type, '-') || ' ' || "
                  "left(query, 60), '; ') FROM pg_stat_activity");
  }
  RunResult r;
  std::thread start([&] { r = colshift(slow_start(f, "3000")); });
  bool seen = eventually(
      [&] {
        if (!sql("SELECT to_regclass('colshift.events') IS NOT NULL").boolean(0, 0)) return false;
        for (const auto& e : guard_events())
          if (e["guard"] == "waiters" && e["decision"] == "warn") return true;
        return false;
      },
      30s);
  holder->exec("COMMIT");
  waiter.join();
  start.join();
  ASSERT_TRUE(seen) << describe(r);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  nlohmann::json warn;
  for (const auto& e : guard_events())
    if (e["guard"] == "waiters" && warn.is_null()) warn = e;
  EXPECT_GE(warn["value"].get<double>(), 1.0) << warn.dump();
  // The others were read: no replica (lag 0), WAL written (the backfill,
  // the guards' own records), autovacuum on the table below its bar.
  auto value = [&](const std::string& name) {
    return scalar_text("SELECT value::text || ' ' || health FROM colshift.guards WHERE name = '" +
                       name + "'");
  };
  EXPECT_EQ(value("lag"), "0 ok");
  EXPECT_EQ(scalar_text("SELECT health FROM colshift.guards WHERE name = 'vacuum'"), "ok");
  auto wal = scalar_text("SELECT health FROM colshift.guards WHERE name = 'wal'");
  EXPECT_EQ(wal, "ok");
  EXPECT_GT(std::stod(scalar_text("SELECT value::text FROM colshift.guards WHERE name = 'wal'")),
            0.0);
}

TEST_F(Guard, AGuardGivenAsAFlagActsAsOneFromTheFile) {
  make_users("users", 2000);
  auto f = guarded_migration("  - {name: from_file, sql: SELECT 0, max: 1}\n");
  auto args = slow_start(f, "2000");
  args.push_back("--guard");
  args.push_back("{name: flagged, sql: SELECT 10, max: 1, interval: 100ms}");
  auto r = colshift(args);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  bool warned = false;
  for (const auto& e : guard_events()) warned |= e["guard"] == "flagged" && e["decision"] == "warn";
  EXPECT_TRUE(warned) << describe(r);
  // Stored with the plan, so watch and complete --watch-for read it too.
  EXPECT_TRUE(sql("SELECT plan::text LIKE '%flagged%' FROM colshift.migrations").boolean(0, 0));

  // A bad flag names itself, where in its value, and the field; nothing runs.
  auto bad = colshift({"start", f, "--guard", "{name: from_file, sql: SELECT 1, max: 1}"});
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_NE(bad.err.find("--guard #1"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("duplicate guard name 'from_file'"), std::string::npos) << bad.err;
  bad = colshift({"start", f, "--guard", "{name: x, sql: SELECT 1}"});
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_NE(bad.err.find("needs a threshold"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace colshift::testing
