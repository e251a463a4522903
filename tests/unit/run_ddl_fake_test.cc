// The lock-safe step runner (run/ddl.h) against a recording fake connection:
// the exact statements it sends, how it retries a lock timeout (rolled back,
// backed off with jitter, tried again), when it gives up and what it says
// then, and what it never retries. Fast control-flow tests beside the
// real-server ones in tests/integration (core_locks_test.cc).
#include <gtest/gtest.h>

#include "run/ddl.h"
#include "support/recording_connection.h"
#include "util/clock.h"
#include "util/error.h"

namespace colshift {
namespace {

using testing::RecordingConnection;
using namespace std::chrono_literals;

run::RetryPolicy policy(int attempts) {
  run::RetryPolicy p;
  p.lock_timeout = 500ms;
  p.attempts = attempts;
  p.base = 100ms;
  p.cap = 5000ms;
  return p;
}

const std::string kAlter = "ALTER TABLE public.t ADD COLUMN x int";

TEST(RunDdlFake, ALockTimeoutIsRolledBackBackedOffAndTriedAgain) {
  RecordingConnection conn;
  conn.fail("ALTER TABLE", "55P03", DbErrorClass::kRetryable, 2);
  FakeClock clock;
  clock.set_random(0.5);
  int recorded = 0;
  std::vector<int> logged;
  bool ran = run::run_transactional(
      conn, {kAlter}, "",
      [&] {
        ++recorded;
        conn.exec("INSERT INTO colshift.steps VALUES (1)");
      },
      policy(5), clock, "public.t",
      [&](int attempt, const std::string&) { logged.push_back(attempt); });
  EXPECT_TRUE(ran);
  const std::vector<std::string> want = {
      "BEGIN", "SET LOCAL lock_timeout = '500ms'", kAlter, "ROLLBACK",
      "BEGIN", "SET LOCAL lock_timeout = '500ms'", kAlter, "ROLLBACK",
      "BEGIN", "SET LOCAL lock_timeout = '500ms'", kAlter, "INSERT INTO colshift.steps VALUES (1)",
      "COMMIT"};
  EXPECT_EQ(conn.statements(), want);
  EXPECT_EQ(recorded, 1);  // recorded in the transaction that committed, once
  EXPECT_EQ(logged, (std::vector<int>{1, 2}));
  // Full jitter: half of 100 ms, then half of 200 ms.
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(clock.total_slept()), 150ms);
}

TEST(RunDdlFake, AfterTheLastTryItNamesTheHoldersAndCommitsNothing) {
  RecordingConnection conn;
  conn.fail("ALTER TABLE", "55P03", DbErrorClass::kRetryable, 1000);
  conn.on("SELECT DISTINCT a.pid", [](const RecordingConnection::Call&) {
    return QueryResult(
        {"pid", "state", "secs", "query"},
        {{Param("77"), Param("idle in transaction"), Param("41"), Param("UPDATE t SET n = 1")}},
        -1);
  });
  FakeClock clock;
  int recorded = 0;
  try {
    run::run_transactional(conn, {kAlter}, "", [&] { ++recorded; }, policy(3), clock, "public.t",
                           {});
    FAIL() << "no error after the last try";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kLockTimeout);
    std::string msg = e.what();
    EXPECT_NE(msg.find("public.t within lock_timeout 500 ms, 3 tries"), std::string::npos) << msg;
    EXPECT_NE(msg.find("held by pid 77 (idle in transaction for 41 s: UPDATE t SET n = 1)"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("nothing was changed by this step"), std::string::npos) << msg;
  }
  EXPECT_EQ(conn.count("BEGIN"), 3);
  EXPECT_EQ(conn.count("ROLLBACK"), 3);
  EXPECT_EQ(conn.count("COMMIT"), 0);
  EXPECT_EQ(recorded, 0);
}

TEST(RunDdlFake, ADoneCheckThatHoldsSkipsTheStatementsAndStillRecords) {
  RecordingConnection conn;
  conn.on("SELECT done",
          [](const RecordingConnection::Call&) { return RecordingConnection::value("t"); });
  FakeClock clock;
  int recorded = 0;
  bool ran = run::run_transactional(conn, {kAlter}, "SELECT done", [&] { ++recorded; }, policy(3),
                                    clock, "public.t", {});
  EXPECT_FALSE(ran);
  EXPECT_EQ(conn.count("ALTER"), 0);
  EXPECT_EQ(recorded, 1);
  EXPECT_EQ(conn.count("COMMIT"), 1);
}

TEST(RunDdlFake, AnErrorInTheSqlIsNotRetried) {
  RecordingConnection conn;
  conn.fail("ALTER TABLE", "42P01", DbErrorClass::kUserError, 1);
  FakeClock clock;
  EXPECT_THROW(run::run_transactional(conn, {kAlter}, "", {}, policy(5), clock, "public.t", {}),
               DbError);
  EXPECT_EQ(conn.count("BEGIN"), 1);
  EXPECT_EQ(conn.count("ROLLBACK"), 1);
  EXPECT_EQ(clock.total_slept().count(), 0);
}

TEST(RunDdlFake, ALostConnectionIsNeitherRetriedNorRolledBackOnTheDeadSession) {
  RecordingConnection conn;
  conn.fail("ALTER TABLE", "08006", DbErrorClass::kConnectionLost, 1);
  FakeClock clock;
  try {
    run::run_transactional(conn, {kAlter}, "", {}, policy(5), clock, "public.t", {});
    FAIL() << "no error";
  } catch (const DbError& e) {
    EXPECT_TRUE(e.connection_lost());
  }
  EXPECT_EQ(conn.count("BEGIN"), 1);
  EXPECT_EQ(conn.count("ROLLBACK"), 0);  // the caller reconnects and reads the state
}

TEST(RunDdlFake, OutsideATransactionEachStatementRetriesAndTheTimeoutIsReset) {
  RecordingConnection conn;
  const std::string create = "CREATE INDEX CONCURRENTLY i ON public.t (x)";
  conn.fail("CREATE INDEX", "55P03", DbErrorClass::kRetryable, 1);
  FakeClock clock;
  run::run_outside_transaction(conn, {create, "ANALYZE public.t"}, 0ms, policy(3), clock, {});
  const std::vector<std::string> want = {"SET lock_timeout = '0ms'", create, create,
                                         "ANALYZE public.t", "RESET lock_timeout"};
  EXPECT_EQ(conn.statements(), want);

  // A failure it does not retry still resets the session's lock_timeout.
  RecordingConnection bad;
  bad.fail("CREATE INDEX", "23505", DbErrorClass::kConstraint, 1);
  EXPECT_THROW(run::run_outside_transaction(bad, {create}, 0ms, policy(3), clock, {}), DbError);
  EXPECT_EQ(bad.statements().back(), "RESET lock_timeout");
}

}  // namespace
}  // namespace colshift
