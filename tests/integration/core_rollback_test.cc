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
  EXPECT_NE(during.find("CONSTRAINT users_email_domain_check"), std::string::npos) << during;
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
  // `up` divides by zero at id 600: the backfill fails half way, after
  // committed batches.
  auto f = migration("0001_users_ratio",
                     "purpose: a ratio that fails for one row\n"
                     "operations:\n"
                     "  - add_column:\n"
                     "      table: users\n"
                     "      column: { name: ratio, type: numeric, nullable: false }\n"
                     "      up: 1000 / (id - 600)\n"
                     "  - create_index:\n"
                     "      name: users_ratio_idx\n"
                     "      table: users\n"
                     "      columns: [ratio]\n");
  auto r = colshift({"start", f, "--batch-size", "50"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("division by zero"), std::string::npos) << r.err;
  EXPECT_EQ(phase_of("0001_users_ratio"), "backfilling");
  EXPECT_GT(rows_done(), 0) << "the failure should come after committed batches";
  EXPECT_NE(sql("SELECT error FROM colshift.migrations").text(0, 0).find("division by zero"),
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

TEST_F(CoreRollback, AfterFinishFailureSchemaDumpIsUnchanged) {
  // The user's CHECK fails validation in the finish phase for existing rows.
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
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("users_local_check"), std::string::npos) << r.err;
  EXPECT_EQ(phase_of("0001_users_short"), "finishing");
  ok({"rollback"});
  EXPECT_EQ(schema_dump(), before);
}

}  // namespace
}  // namespace colshift::testing
