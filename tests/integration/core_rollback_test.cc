// rollback leaves the schema exactly as it was: after a full start, and after
// a start that failed in the middle of a phase.
#include "core_helpers.h"

namespace colshift::testing {
namespace {

class CoreRollback : public CoreTest {};

TEST_F(CoreRollback, AfterStartSchemaDumpIsUnchanged) {
  make_users("users", 2000);
  sql("CREATE INDEX users_n_idx ON users (n)");
  std::string before = schema_dump();
  auto f = migration(
      "0001_users_everything",
      "purpose: every kind of step, to undo them all\n"
      "operations:\n"
      "  - add_column:\n"
      "      table: users\n"
      "      column: { name: email_domain, type: text, nullable: false, default: \"'?'\",\n"
      "                check: \"length(email_domain) < 200\" }\n"
      "      up: split_part(email, '@', 2)\n"
      "  - add_column:\n"
      "      table: users\n"
      "      column: { name: flag, type: boolean, default: \"false\" }\n"
      "  - create_index:\n"
      "      name: users_email_domain_idx\n"
      "      table: users\n"
      "      columns: [email_domain]\n"
      "  - raw_sql:\n"
      "      up: CREATE TABLE users_audit (id bigint)\n"
      "      down: DROP TABLE users_audit\n");
  ok({"start", f, "--batch-size", "300"});
  std::string during = schema_dump();
  EXPECT_NE(during, before);
  EXPECT_NE(during.find("users_email_domain_idx"), std::string::npos);
  // No constraint an app write could violate is live before complete.
  EXPECT_EQ(during.find("CONSTRAINT users_email_domain_check"), std::string::npos) << during;
  EXPECT_EQ(during.find("CONSTRAINT colshift_nn"), std::string::npos) << during;
  auto r = ok({"rollback"});
  EXPECT_NE(r.out.find("rolled back"), std::string::npos) << r.out;
  EXPECT_EQ(schema_dump(), before);
  EXPECT_EQ(phase_of("0001_users_everything"), "rolled_back");
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_class WHERE relname LIKE 'colshift_%'"), 0)
      << "trigger sequences left behind";
  // Rolled back: the same file may start again, and the table still works.
  ok({"start", f, "--batch-size", "300"});
  EXPECT_EQ(mismatches("users", "email_domain", "split_part(email, '@', 2)"), 0);
}

TEST_F(CoreRollback, AfterBackfillFailureSchemaDumpIsUnchanged) {
  make_users("users", 1000);
  std::string before = schema_dump();
  // `up` divides by zero where n = 7. No row has that when start begins (the
  // pre-flight passes); an app write gives row 600 one while the backfill runs,
  // so the backfill fails half way, after committed batches.
  auto f = migration("0001_users_ratio",
                     "purpose: a ratio that fails for one row\n"
                     "operations:\n"
                     "  - add_column:\n"
                     "      table: users\n"
                     "      column: { name: ratio, type: numeric, nullable: false }\n"
                     "      up: 1000 / (n - 7)\n"
                     "  - create_index:\n"
                     "      name: users_ratio_idx\n"
                     "      table: users\n"
                     "      columns: [ratio]\n");
  Spawned start({"start", f, "--batch-size", "50", "--max-rate", "1500"}, url_,
                dir_ + "/start.log");
  ASSERT_TRUE(eventually([&] { return rows_done() > 0; })) << start.output();
  // The app's write itself succeeds: the trigger's failed 'up' never fails it.
  sql("UPDATE users SET n = 7 WHERE id = 600");
  EXPECT_EQ(start.wait(), 1) << start.output();
  EXPECT_NE(start.output().find("division by zero"), std::string::npos) << start.output();
  EXPECT_NE(start.output().find("the row (id)=(600)"), std::string::npos) << start.output();
  EXPECT_EQ(phase_of("0001_users_ratio"), "backfilling");
  EXPECT_GT(rows_done(), 0) << "the failure should come after committed batches";
  EXPECT_LT(rows_done(), 600);
  EXPECT_NE(sql("SELECT error FROM colshift.migrations").text(0, 0).find("(id)=(600)"),
            std::string::npos);

  // complete refuses: the start did not finish.
  auto c = colshift({"complete", "--quiet-period", "0s"});
  EXPECT_EQ(c.exit_code, 1) << describe(c);
  EXPECT_NE(c.err.find("has not finished starting (phase backfilling)"), std::string::npos)
      << c.err;

  ok({"rollback"});
  EXPECT_EQ(schema_dump(), before);
  EXPECT_EQ(phase_of("0001_users_ratio"), "rolled_back");
}

TEST_F(CoreRollback, FixedRowResumesTheFailedBackfill) {
  make_users("users", 1000);
  auto f = migration("0001_users_ratio",
                     "purpose: a ratio that fails for one row\n"
                     "operations:\n"
                     "  - add_column:\n"
                     "      table: users\n"
                     "      column: { name: ratio, type: numeric, nullable: false }\n"
                     "      up: 1000 / (n - 7)\n");
  Spawned start({"start", f, "--batch-size", "50", "--max-rate", "1500"}, url_,
                dir_ + "/start.log");
  ASSERT_TRUE(eventually([&] { return rows_done() > 0; })) << start.output();
  sql("UPDATE users SET n = 7 WHERE id = 700");
  EXPECT_EQ(start.wait(), 1) << start.output();
  // Fix the row; the same start resumes from the failed batch.
  sql("UPDATE users SET n = 8 WHERE id = 700");
  ok({"start", f});
  EXPECT_EQ(mismatches("users", "ratio", "1000 / (n - 7)"), 0);
  ok({"complete", "--quiet-period", "0s"});
  EXPECT_TRUE(column_not_null("users", "ratio"));
}

TEST_F(CoreRollback, CheckThatExistingRowsBreakIsRefusedBeforeAnythingChanges) {
  // The user's CHECK would fail for existing rows once filled: the pre-flight
  // says so, naming a row, before anything changes.
  make_users("users", 500);
  std::string before = schema_dump();
  auto f = migration("0001_users_short",
                     "purpose: a check that existing rows break\n"
                     "operations:\n"
                     "  - add_column:\n"
                     "      table: users\n"
                     "      column: { name: local, type: text, check: \"length(local) < 7\" }\n"
                     "      up: split_part(email, '@', 1)\n");
  auto r = colshift({"start", f, "--batch-size", "100"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("fails its CHECK (length(local) < 7)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the row (id)=(100)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(migration_rows(), 0);
  EXPECT_EQ(schema_dump(), before);
}

TEST_F(CoreRollback, CheckThatALaterWriteBreaksIsRefusedByCompleteAndRemoved) {
  make_users("users", 500);
  auto f = migration("0001_users_short",
                     "purpose: a check that a later write breaks\n"
                     "operations:\n"
                     "  - add_column:\n"
                     "      table: users\n"
                     "      column: { name: local, type: text, check: \"length(local) < 12\" }\n"
                     "      up: split_part(email, '@', 1)\n");
  ok({"start", f});
  // An app write the CHECK would reject succeeds: the CHECK is not live yet.
  sql("INSERT INTO users (id, email) VALUES (5000, 'a-very-long-local-part@x.example')");
  auto r = colshift({"complete", "--quiet-period", "0s"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("users_local_check (keys (5000))"), std::string::npos) << r.err;
  EXPECT_EQ(phase_of("0001_users_short"), "active");
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_constraint WHERE conname = 'users_local_check'"), 0)
      << "the refused CHECK must not stay live";
  sql("DELETE FROM users WHERE id = 5000");
  ok({"complete", "--quiet-period", "0s"});
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_constraint WHERE conname = 'users_local_check' "
                       "AND convalidated"),
            1);
}

}  // namespace
}  // namespace colshift::testing
