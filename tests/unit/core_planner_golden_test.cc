// Planner golden tests: a migration and hand-made CatalogFacts in, the plan
// text out, compared with tests/golden/<name>.txt. COLSHIFT_UPDATE_GOLDEN=1
// rewrites the golden files (review the diff before committing).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dialect/dialect.h"
#include "docs/docs.h"
#include "migration/migration.h"
#include "plan/planner.h"

namespace colshift {
namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void expect_golden(const std::string& name, const std::string& actual) {
  auto path = std::filesystem::path(COLSHIFT_SOURCE_DIR) / "tests" / "golden" / (name + ".txt");
  const char* update = std::getenv("COLSHIFT_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << actual;
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path))
      << path << " missing; run with COLSHIFT_UPDATE_GOLDEN=1";
  EXPECT_EQ(actual, read(path)) << "plan differs from " << path
                                << " (COLSHIFT_UPDATE_GOLDEN=1 rewrites it; review the diff)";
}

// A users table as the catalog would describe it.
plan::CatalogFacts users_facts(int server_version = 150004, long long rows = 1'000'000) {
  plan::CatalogFacts f;
  f.offline = false;
  f.server_version = server_version;
  plan::TableFacts t;
  t.schema = "public";
  t.name = "users";
  t.columns = {{"id", "bigint", true},
               {"email", "text", true},
               {"created_at", "timestamp with time zone", true}};
  t.primary_key = {"id"};
  t.primary_key_types = {"bigint"};
  t.row_estimate = rows;
  t.total_bytes = rows * 120;
  f.tables["users"] = t;
  f.function_volatility = {{"gen_random_uuid", 'v'}, {"now", 's'}, {"lower", 'i'}};
  return f;
}

std::string plan_text(const std::string& file, const std::string& yaml,
                      const plan::CatalogFacts& facts) {
  auto m = migration::parse_migration(yaml, file);
  return plan::render_plan_text(plan::build_plan(m, facts, postgres_dialect(), "colshift"));
}

std::string example(const std::string& name) {
  return read(std::filesystem::path(COLSHIFT_SOURCE_DIR) / "examples" / "migrations" / name);
}

TEST(CorePlannerGolden, ExampleEmailDomain) {
  expect_golden("plan_0001_users_email_domain",
                plan_text("examples/migrations/0001_users_email_domain.yaml",
                          example("0001_users_email_domain.yaml"), users_facts()));
}

TEST(CorePlannerGolden, ExampleSignupSource) {
  expect_golden("plan_0002_users_signup_source",
                plan_text("examples/migrations/0002_users_signup_source.yaml",
                          example("0002_users_signup_source.yaml"), users_facts()));
}

TEST(CorePlannerGolden, ExampleOffline) {
  auto m = migration::parse_migration(example("0001_users_email_domain.yaml"),
                                      "examples/migrations/0001_users_email_domain.yaml");
  expect_golden("plan_0001_offline",
                plan::render_plan_text(plan::build_plan(m, postgres_dialect().offline_facts(m),
                                                        postgres_dialect(), "colshift")));
}

const std::string kConstantDefault =
    "purpose: every user starts active\noperations:\n  - add_column:\n      table: users\n"
    "      column: { name: active, type: boolean, nullable: false, default: \"true\" }\n";

TEST(CorePlannerGolden, InstantAddWithConstantDefaultOnPg11) {
  expect_golden("plan_instant_constant_default_pg11",
                plan_text("m/0003_active.yaml", kConstantDefault, users_facts(110005)));
}

TEST(CorePlannerGolden, ConstantDefaultOnPg10NeedsBackfill) {
  expect_golden("plan_constant_default_pg10",
                plan_text("m/0003_active.yaml", kConstantDefault, users_facts(100012)));
}

TEST(CorePlannerGolden, NullableWithUp) {
  expect_golden(
      "plan_nullable_with_up",
      plan_text("m/0004_domain.yaml",
                "purpose: domain for analytics\noperations:\n  - add_column:\n      table: users\n"
                "      column: { name: email_domain, type: text }\n"
                "      up: lower(split_part(email, '@', 2))\n",
                users_facts()));
}

TEST(CorePlannerGolden, VolatileDefault) {
  expect_golden(
      "plan_volatile_default",
      plan_text(
          "m/0005_token.yaml",
          "purpose: a public token per user\noperations:\n  - add_column:\n      table: users\n"
          "      column: { name: token, type: uuid, nullable: false, default: gen_random_uuid() "
          "}\n",
          users_facts(150004, -1)));
}

TEST(CorePlannerGolden, VolatileDefaultOffline) {
  // Offline, a built-in volatile function is known, an unknown one assumed volatile.
  auto m = migration::parse_migration(
      "purpose: a public token per user\noperations:\n  - add_column:\n      table: users\n"
      "      column: { name: token, type: uuid, nullable: false, default: gen_random_uuid() }\n"
      "  - add_column:\n      table: users\n"
      "      column: { name: code, type: text, default: \"app.new_code()\" }\n",
      "m/0005_token.yaml");
  expect_golden("plan_volatile_default_offline",
                plan::render_plan_text(plan::build_plan(m, postgres_dialect().offline_facts(m),
                                                        postgres_dialect(), "colshift")));
}

TEST(CorePlannerGolden, CheckConstraintAndNotNullOnPg11) {
  expect_golden(
      "plan_check_not_null_pg11",
      plan_text("m/0006_score.yaml",
                "purpose: a bounded score\noperations:\n  - add_column:\n      table: users\n"
                "      column: { name: score, type: int, nullable: false, default: \"0\",\n"
                "                check: \"score BETWEEN 0 AND 100\" }\n"
                "      up: length(email) % 101\n",
                users_facts(110005, 20'000'000)));
}

TEST(CorePlannerGolden, InstantWithCheckAndRawSql) {
  expect_golden(
      "plan_instant_check_raw_sql",
      plan_text(
          "m/0007_note.yaml",
          "purpose: notes\noperations:\n  - add_column:\n      table: users\n"
          "      column: { name: note, type: text, check: \"length(note) < 500\" }\n"
          "  - raw_sql:\n      up: CREATE INDEX CONCURRENTLY users_note_idx ON users (note)\n"
          "      down: DROP INDEX CONCURRENTLY IF EXISTS users_note_idx\n      phase: finish\n"
          "  - raw_sql:\n      up: COMMENT ON COLUMN users.note IS 'free text'\n"
          "      down: COMMENT ON COLUMN users.note IS NULL\n      phase: complete\n",
          users_facts()));
}

// An accounts table with an int column, as the catalog would describe it.
plan::CatalogFacts accounts_facts(long long rows = 1'000'000) {
  plan::CatalogFacts f = users_facts();
  plan::TableFacts t;
  t.schema = "public";
  t.name = "accounts";
  t.columns = {{"id", "bigint", true}, {"name", "text", false}, {"visits", "integer", false}};
  t.primary_key = {"id"};
  t.primary_key_types = {"bigint"};
  t.row_estimate = rows;
  t.total_bytes = rows * 80;
  f.tables["accounts"] = t;
  return f;
}

std::string raw_file(const std::string& up, const std::string& down,
                     const std::string& extra = "") {
  return "purpose: raw change\noperations:\n  - raw_sql:\n      up: " + up +
         "\n      down: " + down + "\n" + extra;
}

TEST(CorePlannerGolden, RawAlterColumnTypeRewritesAndIsRefused) {
  expect_golden("plan_raw_alter_type",
                plan_text("m/0010_visits_bigint.yaml",
                          raw_file("ALTER TABLE accounts ALTER COLUMN visits TYPE bigint",
                                   "ALTER TABLE accounts ALTER COLUMN visits TYPE integer"),
                          accounts_facts()));
}

TEST(CorePlannerGolden, RawSetNotNullScansUnderAccessExclusive) {
  expect_golden("plan_raw_set_not_null",
                plan_text("m/0011_name_not_null.yaml",
                          raw_file("ALTER TABLE accounts ALTER COLUMN name SET NOT NULL",
                                   "ALTER TABLE accounts ALTER COLUMN name DROP NOT NULL"),
                          accounts_facts()));
}

TEST(CorePlannerGolden, RawCreateIndexScansUnderShareAndIsAllowed) {
  expect_golden("plan_raw_create_index",
                plan_text("m/0012_name_idx.yaml",
                          raw_file("CREATE INDEX accounts_name_idx ON accounts (name)",
                                   "DROP INDEX accounts_name_idx",
                                   "      allow_hazards: [scans_under_lock]\n"),
                          accounts_facts()));
}

TEST(CorePlannerGolden, RawRenameSaysTheOldAppBreaks) {
  expect_golden(
      "plan_raw_rename",
      plan_text("m/0013_full_name.yaml",
                "purpose: full names\noperations:\n  - add_column:\n      table: accounts\n"
                "      column: { name: score, type: int }\n      up: visits % 10\n"
                "  - raw_sql:\n      up: ALTER TABLE accounts RENAME COLUMN name TO full_name\n"
                "      down: ALTER TABLE accounts RENAME COLUMN full_name TO name\n"
                "      allow_hazards: [breaks_old_app]\n",
                accounts_facts()));
}

TEST(CorePlannerGolden, RawOnATableCreatedInTheSameRawSqlHasNoHazards) {
  expect_golden("plan_raw_new_table",
                plan_text("m/0014_audit.yaml",
                          raw_file("\"CREATE TABLE audit (id bigint PRIMARY KEY, at int); "
                                   "CREATE INDEX audit_at_idx ON audit (at); "
                                   "ALTER TABLE audit ALTER COLUMN at SET NOT NULL\"",
                                   "DROP TABLE audit"),
                          accounts_facts()));
}

TEST(CorePlannerGolden, RawNotNullProvenByACheckValidatedInAnEarlierPhase) {
  expect_golden(
      "plan_raw_not_null_via_check",
      plan_text(
          "m/0015_name_not_null.yaml",
          "purpose: name is required\noperations:\n"
          "  - raw_sql:\n      phase: complete\n"
          "      up: ALTER TABLE accounts ALTER COLUMN name SET NOT NULL\n"
          "      down: ALTER TABLE accounts ALTER COLUMN name DROP NOT NULL\n"
          "  - raw_sql:\n"
          "      up: ALTER TABLE accounts ADD CONSTRAINT accounts_name_nn CHECK (name IS NOT NULL) "
          "NOT VALID\n"
          "      down: ALTER TABLE accounts DROP CONSTRAINT accounts_name_nn\n"
          "  - raw_sql:\n      phase: finish\n"
          "      up: ALTER TABLE accounts VALIDATE CONSTRAINT accounts_name_nn\n"
          "      down: SELECT 1\n",
          accounts_facts()));
}

// Locks held across statements of one transaction, and the data and app
// hazards read from the parse tree.
TEST(CorePlannerGolden, RawTransactionHazards) {
  expect_golden(
      "plan_raw_transaction_hazards",
      plan_text("m/0016_many.yaml",
                "purpose: many raw statements\noperations:\n  - raw_sql:\n      up: |\n"
                "        ALTER TABLE accounts ADD COLUMN note text;\n"
                "        UPDATE accounts SET note = 'x' WHERE id < 100;\n"
                "        UPDATE accounts SET note = '';\n"
                "        LOCK TABLE users IN SHARE MODE;\n"
                "        DELETE FROM users;\n"
                "        ALTER TABLE users RENAME TO members;\n"
                "        CREATE VIEW users AS SELECT * FROM members;\n"
                "        ALTER TABLE accounts DROP COLUMN visits;\n"
                "        DO $$ BEGIN ALTER TABLE accounts ALTER COLUMN name TYPE varchar(20); "
                "END $$\n"
                "      down: SELECT 1\n"
                "      allow_hazards: [deletes_data]\n",
                accounts_facts(0)));
}

TEST(CorePlannerGolden, RawStatementsSurviveTheStoredPlanAndReachTheDocs) {
  auto m =
      migration::parse_migration(raw_file("ALTER TABLE accounts ALTER COLUMN visits TYPE bigint",
                                          "ALTER TABLE accounts ALTER COLUMN visits TYPE integer"),
                                 "m/0010_visits_bigint.yaml");
  auto p = plan::build_plan(m, accounts_facts(), postgres_dialect(), "colshift");
  auto j = plan::plan_to_json(p);
  auto back = plan::plan_from_json(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(plan::plan_to_json(back), j);
  EXPECT_EQ(plan::render_plan_text(back), plan::render_plan_text(p));
  ASSERT_EQ(back.steps.at(0).statements.size(), 1u);
  EXPECT_TRUE(back.steps[0].statements[0].hazards.at(0).refused);
  EXPECT_THROW(plan::refuse_hazards(back), Error);
  std::string page = docs::migration_page(back, std::nullopt);
  EXPECT_NE(page.find("## Raw SQL\n\nStep 1 (raw SQL (1 statement)):\n\n"
                      "1. `ALTER TABLE accounts ALTER COLUMN visits TYPE bigint`\n"
                      "   - public.accounts: rewrites the table under ACCESS EXCLUSIVE"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("   - hazard **rewrites_table**: rewrites public.accounts (~1,000,000 "
                      "rows) under ACCESS EXCLUSIVE"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("not allowed: 'colshift start' refuses it"), std::string::npos) << page;
}

TEST(CorePlannerGolden, RefusalNamesStatementTableSizeHazardAndTheSafeWay) {
  auto m =
      migration::parse_migration(raw_file("ALTER TABLE accounts ALTER COLUMN name SET NOT NULL",
                                          "ALTER TABLE accounts ALTER COLUMN name DROP NOT NULL"),
                                 "m/0011_name_not_null.yaml");
  auto p = plan::build_plan(m, accounts_facts(1000), postgres_dialect(), "colshift");
  try {
    plan::refuse_hazards(p);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_EQ(e.render(),
              "m/0011_name_not_null.yaml:4:7: error: refusing raw_sql statement 1 (ALTER TABLE "
              "accounts ALTER COLUMN name SET NOT NULL): it scans public.accounts (~1,000 rows) "
              "under ACCESS EXCLUSIVE (checks every row while holding the lock): reads, writes "
              "and DDL wait; hazard scans_under_lock is not in allow_hazards, so nothing was "
              "changed\n"
              "  hint: ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c "
              "(no blocking lock); then SET NOT NULL (instant) and drop the check. colshift's "
              "`add_column` does this for `nullable: false`; or, to run it anyway, add "
              "'allow_hazards: [scans_under_lock]' to this raw_sql");
  }
  // An empty table is not refused; neither is an allowed hazard.
  plan::refuse_hazards(plan::build_plan(m, accounts_facts(0), postgres_dialect(), "colshift"));
}

TEST(CorePlannerGolden, MissingTableIsBadInputAtThePosition) {
  auto facts = users_facts();
  facts.missing_tables.insert("nosuch");
  try {
    plan_text("m/0008.yaml",
              "purpose: p\noperations:\n  - add_column:\n      table: nosuch\n      column: { "
              "name: a, type: int }\n",
              facts);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.render(),
              "m/0008.yaml:4:7: error: table nosuch does not exist\n"
              "  hint: check the name and the schema (searched: public); qualify it as "
              "schema.table if it lives "
              "elsewhere");
  }
}

}  // namespace
}  // namespace colshift
