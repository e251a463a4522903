// A start killed with kill -9 in the middle of the backfill can be rolled
// back, or resumed without redoing any committed batch.
#include "core_helpers.h"

namespace colshift::testing {
namespace {

constexpr long long kRows = 60'000;

class CoreKill : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    if (IsSkipped()) return;
    make_users("users", kRows);
    // Counts every row any UPDATE on users touches (committed only).
    sql("CREATE TABLE upd_count (n bigint NOT NULL)");
    sql("INSERT INTO upd_count VALUES (0)");
    sql("CREATE FUNCTION count_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE upd_count SET n = n + (SELECT count(*) FROM changed); RETURN NULL; END $$");
    sql("CREATE TRIGGER count_upd AFTER UPDATE ON users REFERENCING NEW TABLE AS changed "
        "FOR EACH STATEMENT EXECUTE FUNCTION count_upd()");
    before_ = schema_dump();
    file_ = domain_migration("0001_users_domain", "users", "email_domain");
  }

  // Starts the migration in the background and SIGKILLs it once some batches
  // committed; returns rows_done at that point.
  long long start_and_kill() {
    Spawned p({"start", file_, "--batch-size", "50"}, url_, dir_ + "/start.log");
    bool progressed = eventually([&] { return rows_done() > 0 || !p.running(); });
    EXPECT_TRUE(progressed);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(p.running()) << "start finished before it could be killed: " << p.output();
    p.kill9();
    wait_for_no_colshift_sessions();
    long long done = rows_done();
    EXPECT_GT(done, 0);
    EXPECT_LT(done, kRows) << "killed too late to test a resume";
    EXPECT_EQ(phase_of("0001_users_domain"), "backfilling");
    return done;
  }

  std::string before_;
  std::string file_;
};

TEST_F(CoreKill, KilledStartThenRollbackRestoresSchema) {
  start_and_kill();
  auto c = colshift({"complete", "--quiet-period", "0s"});
  EXPECT_EQ(c.exit_code, 1) << describe(c);
  EXPECT_NE(c.err.find("not finished starting"), std::string::npos) << c.err;
  ok({"rollback"});
  EXPECT_EQ(schema_dump(), before_);
}

TEST_F(CoreKill, KilledStartResumesWithoutRedoingCommittedBatches) {
  long long killed_at = start_and_kill();
  long long updated_before_resume = scalar_int("SELECT n FROM upd_count");
  EXPECT_EQ(updated_before_resume, killed_at) << "checkpoint and committed batches disagree";
  auto r = ok({"start", file_, "--batch-size", "50"});
  EXPECT_NE(r.err.find("resuming"), std::string::npos) << r.err;
  EXPECT_EQ(mismatches("users", "email_domain", "split_part(email, '@', 2)"), 0);
  EXPECT_EQ(scalar_int("SELECT rows_done FROM colshift.backfill"), kRows);
  EXPECT_EQ(scalar_int("SELECT n FROM upd_count"), kRows) << "some rows were updated twice";
  ok({"complete", "--quiet-period", "0s"});
  EXPECT_TRUE(column_not_null("users", "email_domain"));
}

}  // namespace
}  // namespace colshift::testing
