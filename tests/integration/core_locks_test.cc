// A long transaction holding a conflicting lock: start gives way under
// lock_timeout, so readers never queue behind it for longer than the timeout,
// and either succeeds once the blocker ends or fails cleanly naming it.
#include "core_helpers.h"

namespace colshift::testing {
namespace {

class CoreLocks : public CoreTest {
 protected:
  // Opens a transaction holding ACCESS SHARE on `table` (conflicts with the
  // ACCESS EXCLUSIVE that ADD COLUMN needs).
  std::unique_ptr<pg::PgConnection> blocker(const std::string& table) {
    auto c = connect();
    c->exec("BEGIN");
    c->exec("LOCK TABLE " + table + " IN ACCESS SHARE MODE");
    return c;
  }
};

constexpr int kLockTimeoutMs = 200;
constexpr int kSlackMs = 1000;

TEST_F(CoreLocks, RetriesUnderLockTimeoutReadersNeverWaitLongSucceedsWhenBlockerEnds) {
  make_users("users", 1000);
  auto f = domain_migration("0001_users_domain", "users", "email_domain");
  auto block = blocker("users");
  LatencyProbe reader(connect(), "SELECT count(*) FROM users WHERE id = 42");
  auto t0 = std::chrono::steady_clock::now();
  RunResult r;
  std::thread runner([&] {
    r = colshift({"start", f, "--lock-timeout", std::to_string(kLockTimeoutMs) + "ms",
                  "--batch-size", "200"});
  });
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_FALSE(has_column("users", "email_domain"))
      << "ADD COLUMN went through a conflicting lock?";
  block->exec("COMMIT");
  runner.join();
  reader.stop();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.err.find("lock timeout"), std::string::npos) << "no retry was logged: " << r.err;
  EXPECT_GE(took, 3.0);
  EXPECT_EQ(reader.errors(), 0);
  EXPECT_GT(reader.calls(), 50);
  EXPECT_LT(reader.max_ms(), kLockTimeoutMs + kSlackMs)
      << "a reader queued behind colshift's lock for " << reader.max_ms() << " ms";
  EXPECT_EQ(mismatches("users", "email_domain", "split_part(email, '@', 2)"), 0);
}

TEST_F(CoreLocks, GivesUpAfterLockRetriesNamingTheHolderNothingHalfApplied) {
  make_users("users", 100);
  std::string before = schema_dump();
  auto f = domain_migration("0001_users_domain", "users", "email_domain");
  auto block = blocker("users");
  const int holder_pid = block->backend_pid();
  LatencyProbe reader(connect(), "SELECT count(*) FROM users WHERE id = 42");
  auto r = colshift(
      {"start", f, "--lock-timeout", std::to_string(kLockTimeoutMs) + "ms", "--lock-retries", "2"});
  reader.stop();
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("could not take the lock on public.users"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 tries"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pid " + std::to_string(holder_pid)), std::string::npos) << r.err;
  EXPECT_LT(reader.max_ms(), kLockTimeoutMs + kSlackMs);
  EXPECT_EQ(schema_dump(), before) << "a failed start left part of its change behind";
  block->exec("ROLLBACK");
  EXPECT_EQ(phase_of("0001_users_domain"), "expanding");
  ok({"rollback"});
  EXPECT_EQ(schema_dump(), before);
}

}  // namespace
}  // namespace colshift::testing
