// Parallel key ranges and the load throttle (issue 12): several workers fill
// disjoint ranges exactly once, a run killed with kill -9 resumes with any
// worker count without redoing or skipping a row, live control reaches every
// worker, and the load governor slows the backfill while the app's sessions
// are busy, saying why.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "dialect/dialect.h"
#include "plan/plan.h"
#include "support/pg_fixture.h"

namespace colshift::testing {
namespace {

using namespace std::chrono_literals;

const char* kMigration = R"(purpose: fill a derived column with parallel workers
operations:
  - add_column:
      table: items
      column: { name: label, type: text, nullable: true }
      up: "'item-' || id::text"
)";

class BackfillParallel : public PgTest {
 protected:
  // `rows` rows with gaps in the keys (id = 3g), and a counter of every row
  // any committed UPDATE touched.
  void make_items(long long rows) {
    sql("CREATE TABLE items (id bigint PRIMARY KEY, payload text)");
    sql("INSERT INTO items SELECT 3 * g, md5(g::text) FROM generate_series(1, " +
        std::to_string(rows) + ") g");
    sql("ANALYZE items");
    sql("CREATE TABLE upd_count (n bigint NOT NULL)");
    sql("INSERT INTO upd_count VALUES (0)");
    sql("CREATE FUNCTION count_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE upd_count SET n = n + (SELECT count(*) FROM changed); RETURN NULL; END $$");
    sql("CREATE TRIGGER count_upd AFTER UPDATE ON items REFERENCING NEW TABLE AS changed "
        "FOR EACH STATEMENT EXECUTE FUNCTION count_upd()");
    rows_ = rows;
    file_ = write_file("m.yaml", kMigration);
  }
  long long rows_done() {
    if (scalar_int("SELECT count(*) FROM pg_tables WHERE schemaname = 'colshift' AND "
                   "tablename = 'backfill'") == 0)
      return 0;
    return scalar_int("SELECT coalesce(max(rows_done), 0) FROM colshift.backfill");
  }
  long long updated() { return scalar_int("SELECT n FROM upd_count"); }
  long long wrong() {
    return scalar_int("SELECT count(*) FROM items WHERE label IS DISTINCT FROM 'item-' || id");
  }
  void wait_for_no_colshift_sessions() {
    ASSERT_TRUE(wait_until(
        [&] {
          return scalar_int(
                     "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE "
                     "'colshift%' AND pid <> pg_backend_pid()") == 0;
        },
        20s));
  }

  long long rows_ = 0;
  std::string file_;
};

TEST_F(BackfillParallel, WorkersFillDisjointRangesExactlyOnce) {
  make_items(30000);
  auto r = colshift({"start", file_, "--workers", "3", "--batch-size", "500"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(wrong(), 0);
  EXPECT_EQ(updated(), rows_) << "some row was updated twice, or skipped";
  EXPECT_EQ(scalar_int("SELECT rows_done FROM colshift.backfill"), rows_);
  EXPECT_TRUE(sql("SELECT done FROM colshift.backfill").boolean(0, 0));
  EXPECT_EQ(scalar_int("SELECT count(*) FROM colshift.backfill_range"), 3);
  EXPECT_EQ(scalar_int("SELECT count(*) FROM colshift.backfill_range WHERE done"), 3);
  EXPECT_EQ(scalar_int("SELECT sum(rows_done) FROM colshift.backfill_range"), rows_);
  // Every range holds about a third of the rows (from a sample of the keys).
  EXPECT_GT(scalar_int("SELECT min(rows_done) FROM colshift.backfill_range"), rows_ / 6);
  // Ranges meet end to end: each one's upper key is the next one's lower key.
  EXPECT_EQ(
      scalar_int("SELECT count(*) FROM colshift.backfill_range a JOIN "
                 "colshift.backfill_range b ON b.part = a.part + 1 WHERE a.hi_key = b.lo_key"),
      2);
  EXPECT_EQ(scalar_int("SELECT count(*) FROM colshift.backfill_range WHERE part = 0 AND "
                       "lo_key IS NULL"),
            1);
  EXPECT_NE(r.err.find("rows filled"), std::string::npos) << r.err;
}

TEST_F(BackfillParallel, KilledParallelRunResumesWithAnotherWorkerCount) {
  make_items(60000);
  std::string log = dir_ + "/start.log";
  int pid = spawn_colshift({"start", file_, "--workers", "3", "--batch-size", "50"}, url_, log);
  ASSERT_TRUE(wait_until([&] { return rows_done() > 2000; }, 30s)) << slurp(log + ".err");
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  wait_for_no_colshift_sessions();
  const long long done = rows_done();
  ASSERT_LT(done, rows_) << "killed too late to test a resume";
  EXPECT_EQ(updated(), done) << "the checkpoint and the committed batches disagree";
  EXPECT_EQ(scalar_int("SELECT sum(rows_done) FROM colshift.backfill_range"), done);
  EXPECT_GE(scalar_int("SELECT count(*) FROM colshift.backfill_range WHERE rows_done > 0"), 2)
      << "the workers did not run in parallel";

  auto r = colshift({"start", file_, "--workers", "2", "--batch-size", "500"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming"), std::string::npos) << r.err;
  EXPECT_EQ(wrong(), 0);
  EXPECT_EQ(updated(), rows_) << "a row was redone or skipped after the resume";
  EXPECT_EQ(scalar_int("SELECT rows_done FROM colshift.backfill"), rows_);
  EXPECT_EQ(scalar_int("SELECT count(*) FROM colshift.backfill_range"), 3)
      << "the ranges are fixed by the first run";
}

TEST_F(BackfillParallel, PauseAndAbortReachEveryWorker) {
  make_items(60000);
  std::string log = dir_ + "/start.log";
  int pid = spawn_colshift(
      {"start", file_, "--workers", "3", "--batch-size", "200", "--max-rate", "6000"}, url_, log);
  ASSERT_TRUE(wait_until([&] { return rows_done() > 0; }, 30s)) << slurp(log + ".err");
  ASSERT_EQ(colshift({"pause"}).exit_code, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        return scalar_text("SELECT coalesce(max(throttle), '') FROM colshift.backfill")
                   .find("paused") != std::string::npos;
      },
      5s));
  std::this_thread::sleep_for(600ms);  // a batch in flight when paused commits
  long long at_pause = rows_done();
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(rows_done(), at_pause) << "a worker kept filling while paused";
  ASSERT_EQ(colshift({"resume"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return rows_done() > at_pause; }, 10s));
  ASSERT_EQ(colshift({"abort"}).exit_code, 0);
  EXPECT_EQ(wait_exit(pid, 30s), 1) << slurp(log + ".err");
  EXPECT_NE(slurp(log + ".err").find("aborted by 'colshift abort'"), std::string::npos)
      << slurp(log + ".err");
  wait_for_no_colshift_sessions();
  long long at_abort = rows_done();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(rows_done(), at_abort) << "a worker outlived the abort";
  EXPECT_EQ(updated(), at_abort);
}

// The load throttle's probe stands for an app's write: its commit waits for
// its WAL to be flushed, so a backlog of the backfill's WAL shows in its time.
// (It used txid_current(), whose commit is never flushed: the probe stayed at
// a tenth of a millisecond while the app's commits waited behind the WAL.)
TEST_F(BackfillParallel, LoadProbeCommitWaitsForItsWalFlushAsAnAppWriteDoes) {
  make_items(10);
  plan::BackfillSpec spec;
  spec.schema = "public";
  spec.table = "items";
  spec.key_columns = {"id"};
  spec.key_types = {"bigint"};
  const std::string probe = postgres_dialect().load_probe_sql(spec);
  auto c = connect();
  c->exec("SET synchronous_commit = on");
  int flushed = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string before = c->exec("SELECT pg_current_wal_insert_lsn()::text").text(0, 0);
    c->exec(probe, {"3"});
    // The probe's commit record lies past `before`: flushed only if it waited.
    if (c->exec("SELECT pg_current_wal_flush_lsn() > $1::pg_lsn", {before}).boolean(0, 0))
      ++flushed;
  }
  EXPECT_EQ(flushed, 20);
}

TEST_F(BackfillParallel, LoadThrottleSlowsWhileAppSessionsAreBusyAndSaysWhy) {
  make_items(200000);
  std::string log = dir_ + "/start.log";
  int pid =
      spawn_colshift({"start", file_, "--workers", "2", "--batch-size", "500", "--max-rate",
                      "20000", "--load-throttle-rows", "0", "--load-baseline", "500ms", "--json"},
                     url_, log);
  ASSERT_TRUE(wait_until([&] { return rows_done() > 0; }, 30s)) << slurp(log + ".err");
  // The app gets busy after the baseline: four sessions running statements.
  std::vector<std::thread> app;
  std::vector<std::unique_ptr<pg::PgConnection>> conns;
  for (int i = 0; i < 4; ++i) conns.push_back(connect());
  for (auto& c : conns)
    app.emplace_back([conn = c.get()] {
      try {
        conn->exec("SELECT pg_sleep(6)");
      } catch (...) {
      }
    });
  bool slowed = wait_until(
      [&] {
        return scalar_text("SELECT coalesce(max(throttle), '') FROM colshift.backfill")
                   .find("app load") != std::string::npos;
      },
      5s);
  EXPECT_TRUE(slowed) << "no load throttle reason while 4 app sessions were busy";
  if (slowed) {
    // Each worker reports its own reason: a resting one says "app load", one
    // at the rate ceiling "max rate", so status may show either for a moment.
    std::string out;
    EXPECT_TRUE(wait_until(
        [&] {
          out = colshift({"status"}).out;
          return out.find("app load") != std::string::npos;
        },
        3s))
        << out;
    std::this_thread::sleep_for(1s);  // halved at every slowed sample: settled by now
    long long a = rows_done();
    std::this_thread::sleep_for(1s);
    long long b = rows_done();
    EXPECT_LT(b - a, 8000) << "the backfill did not slow down (at most 20,000 rows/s unslowed)";
  }
  for (auto& t : app) t.join();
  EXPECT_EQ(wait_exit(pid, 120s), 0) << slurp(log + ".err");
  const std::string err = slurp(log + ".err");
  EXPECT_NE(err.find("app load: probe"), std::string::npos) << "the progress line said nothing";
  EXPECT_NE(err.find("sampling the app's load"), std::string::npos) << err.substr(0, 2000);
  EXPECT_EQ(wrong(), 0);
  EXPECT_EQ(updated(), rows_);
}

}  // namespace
}  // namespace colshift::testing
