// The backfill engine at production grade (issue 3): live control from a
// second process, throttle signals (probe, replica lag against a real
// streaming standby), batch sizing, and surviving a server restart.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "support/pg_fixture.h"
#include "support/private_server.h"

namespace colshift::testing {
namespace {

using namespace std::chrono_literals;

const char* kMigration = R"(purpose: fill a derived column for the backfill engine tests
operations:
  - add_column:
      table: items
      column: { name: label, type: text, nullable: false }
      up: "'item-' || id::text"
)";

void make_items(Connection& c, int rows) {
  c.exec("CREATE TABLE items (id bigint PRIMARY KEY, payload text)");
  c.exec("INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, " +
         std::to_string(rows) + ") g");
  c.exec("ANALYZE items");
}

long long rows_done(Connection& c) {
  auto r = c.exec("SELECT coalesce(max(rows_done), 0) FROM colshift.backfill");
  return r.integer(0, 0);
}

bool has_backfill_row(Connection& c) {
  return c.exec("SELECT to_regclass('colshift.backfill') IS NOT NULL").boolean(0, 0) &&
         c.exec("SELECT count(*) FROM colshift.backfill").integer(0, 0) > 0;
}

std::string throttle_reason(Connection& c) {
  auto r = c.exec("SELECT coalesce(max(throttle), '') FROM colshift.backfill");
  return r.text(0, 0);
}

void expect_all_filled(Connection& c) {
  auto r = c.exec(
      "SELECT count(*) FILTER (WHERE label IS DISTINCT FROM 'item-' || id::text), count(*) FROM "
      "items");
  EXPECT_EQ(r.integer(0, 0), 0) << "rows with a wrong label";
  EXPECT_GT(r.integer(0, 1), 0);
}

class BackfillEngine : public PgTest {};

TEST_F(BackfillEngine, PauseResumeAndAbortFromAnotherProcess) {
  make_items(*conn_, 60000);
  std::string file = write_file("m.yaml", kMigration);
  std::string log = dir_ + "/start.log";
  // Rate-limited so the test has time to act between batches.
  int pid = spawn_colshift({"start", file, "--batch-size", "500", "--max-rate", "6000"}, url_, log);
  ASSERT_TRUE(wait_until([&] { return has_backfill_row(*conn_) && rows_done(*conn_) > 0; }, 20s))
      << slurp(log + ".err");

  auto paused = colshift({"pause"});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  ASSERT_TRUE(
      wait_until([&] { return throttle_reason(*conn_).find("paused") != std::string::npos; }, 5s));
  long long at_pause = rows_done(*conn_);
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(rows_done(*conn_), at_pause) << "rows were filled while paused";
  auto status = colshift({"status"});
  EXPECT_NE(status.out.find("paused"), std::string::npos) << status.out;

  ASSERT_EQ(colshift({"resume"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return rows_done(*conn_) > at_pause; }, 5s))
      << "no progress after resume";

  ASSERT_EQ(colshift({"abort"}).exit_code, 0);
  int rc = wait_exit(pid, 30s);
  EXPECT_EQ(rc, 1) << slurp(log + ".err");
  EXPECT_NE(slurp(log + ".err").find("aborted by 'colshift abort'"), std::string::npos)
      << slurp(log + ".err");
  long long at_abort = rows_done(*conn_);
  EXPECT_LT(at_abort, 60000);

  // Resuming finishes the job and redoes no committed batch.
  auto again = colshift({"start", file, "--batch-size", "5000"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(rows_done(*conn_), 60000);
  expect_all_filled(*conn_);
}

TEST_F(BackfillEngine, ThrottleQueryThatFlipsHoldsAndReleasesTheBackfill) {
  make_items(*conn_, 20000);
  sql("CREATE TABLE ops_flag (v int)");
  sql("INSERT INTO ops_flag VALUES (1)");
  std::string file = write_file("m.yaml", kMigration);
  std::string log = dir_ + "/start.log";
  int pid = spawn_colshift({"start", file, "--batch-size", "1000", "--throttle-query",
                            "SELECT v FROM ops_flag", "--throttle-max", "0"},
                           url_, log);
  ASSERT_TRUE(wait_until(
      [&] {
        return has_backfill_row(*conn_) &&
               throttle_reason(*conn_).find("throttle query = 1") != std::string::npos;
      },
      20s))
      << slurp(log + ".err");
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(rows_done(*conn_), 0) << "the backfill ran while the probe said wait";
  sql("UPDATE ops_flag SET v = 0");
  EXPECT_EQ(wait_exit(pid, 60s), 0) << slurp(log + ".err");
  expect_all_filled(*conn_);
  // The JSON progress records carried the reason too.
  EXPECT_NE(slurp(log + ".err").find("throttle query = 1 > 0"), std::string::npos);
}

TEST_F(BackfillEngine, BatchSizeConvergesOnSlowAndFastExpressions) {
  sql("CREATE TABLE slow (id int PRIMARY KEY)");
  sql("INSERT INTO slow SELECT generate_series(1, 3000)");
  sql("CREATE TABLE fast (id int PRIMARY KEY)");
  sql("INSERT INTO fast SELECT generate_series(1, 300000)");
  sql("ANALYZE");
  // 0.5-1.1 ms per row (pg_sleep's argument names the row, so it runs per row):
  // a 100 ms target means roughly 90-200 rows per batch.
  std::string slow = write_file("slow.yaml", R"yaml(purpose: slow expression
operations:
  - add_column:
      table: slow
      column: { name: v, type: text }
      up: "(SELECT 'x' FROM pg_sleep(0.0005 + 0 * id))"
)yaml");
  auto r = colshift({"start", slow, "--batch-target", "100ms", "--batch-min", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(colshift({"complete", "--force"}).exit_code, 0);
  long long slow_batch =
      scalar_int("SELECT batch_size FROM colshift.backfill ORDER BY migration_id LIMIT 1");
  EXPECT_GE(slow_batch, 20);
  EXPECT_LE(slow_batch, 400);

  std::string fast = write_file("fast.yaml", R"(purpose: fast expression
operations:
  - add_column:
      table: fast
      column: { name: v, type: int }
      up: "id + 1"
)");
  r = colshift({"start", fast, "--batch-target", "100ms"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  long long fast_batch =
      scalar_int("SELECT batch_size FROM colshift.backfill ORDER BY migration_id DESC LIMIT 1");
  EXPECT_GE(fast_batch, 5000) << "a cheap expression should grow batches well past the start size";
  EXPECT_EQ(scalar_int("SELECT count(*) FROM fast WHERE v IS DISTINCT FROM id + 1"), 0);
}

// Servers of the test's own: restarts and standbys must not disturb others.
TEST(BackfillEngineServer, SurvivesAPostgresRestartMidBackfill) {
  if (!test_server_available()) GTEST_SKIP() << "run through ./run test";
  PrivateServer server;
  auto c = pg::PgConnection::connect({server.url()});
  make_items(*c, 80000);
  char tmpl[] = "/tmp/colshift-restart.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string file = dir + "/m.yaml";
  std::ofstream(file) << kMigration;
  std::string log = dir + "/start.log";
  int pid = spawn_colshift({"start", file, "--batch-size", "500", "--max-rate", "10000"},
                           server.url(), log);
  ASSERT_TRUE(wait_until([&] { return has_backfill_row(*c) && rows_done(*c) > 2000; }, 30s))
      << slurp(log + ".err");
  c.reset();
  server.restart();
  EXPECT_EQ(wait_exit(pid, 120s), 0) << slurp(log + ".err");
  c = pg::PgConnection::connect({server.url()});
  expect_all_filled(*c);
  EXPECT_EQ(rows_done(*c), 80000) << "a committed batch was redone or skipped";
  EXPECT_NE(slurp(log + ".err").find("reconnect"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(BackfillEngineServer, StopsWithinABatchWhileAStandbyDoesNotReplay) {
  if (!test_server_available()) GTEST_SKIP() << "run through ./run test";
  PrivateServer primary;
  PrivateServer standby = PrivateServer::standby_of(primary);
  auto c = pg::PgConnection::connect({primary.url()});
  ASSERT_TRUE(wait_until(
      [&] {
        return c->exec("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                   .integer(0, 0) == 1;
      },
      30s));
  make_items(*c, 60000);
  auto s = pg::PgConnection::connect({standby.url()});
  ASSERT_TRUE(wait_until(
      [&] { return s->exec("SELECT to_regclass('public.items') IS NOT NULL").boolean(0, 0); },
      30s));
  s->exec("SELECT pg_wal_replay_pause()");

  char tmpl[] = "/tmp/colshift-lag.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string file = dir + "/m.yaml";
  std::ofstream(file) << kMigration;
  std::string log = dir + "/start.log";
  int pid = spawn_colshift(
      {"start", file, "--batch-size", "1000", "--max-replica-lag", "300ms", "--max-rate", "20000"},
      primary.url(), log);
  ASSERT_TRUE(wait_until(
      [&] {
        return has_backfill_row(*c) && throttle_reason(*c).find("replica lag") != std::string::npos;
      },
      30s))
      << slurp(log + ".err");
  long long held = rows_done(*c);
  // Stopped soon after the lag passed the limit: at 20,000 rows/s, 300 ms of
  // lag is ~6,000 rows plus the batch in flight, far from the whole table.
  EXPECT_LE(held, 20000);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(rows_done(*c), held) << "the backfill went on while the standby did not replay";

  s->exec("SELECT pg_wal_replay_resume()");
  EXPECT_EQ(wait_exit(pid, 120s), 0) << slurp(log + ".err");
  expect_all_filled(*c);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace colshift::testing
