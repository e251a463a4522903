// raw_sql read with the linter's facts: plan shows each statement's locks,
// rewrites and scans and its hazards; start refuses a hazard on a non-empty
// live table unless allow_hazards names it, before changing anything; a
// rename says which app version breaks; raw SQL gives way under lock_timeout.
#include <nlohmann/json.hpp>

#include "core_helpers.h"

namespace colshift::testing {
namespace {

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "no \"" << part << "\" in:\n" << text;
}

class CoreRawHazards : public CoreTest {
 protected:
  // A migration with one raw_sql: `up`, `down`, and extra keys (YAML lines).
  std::string raw(const std::string& name, const std::string& up, const std::string& down,
                  const std::string& extra = "") {
    return migration(name, "purpose: a raw change\noperations:\n  - raw_sql:\n      up: \"" + up +
                               "\"\n      down: \"" + down + "\"\n" + extra);
  }

  // Expects `start` of `file` to be refused with exit 2 naming `hazard`,
  // with nothing changed; returns stderr.
  std::string expect_refused(const std::string& file, const std::string& hazard) {
    std::string before = schema_dump();
    auto r = colshift({"start", file});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    expect_contains(r.err, file + ":4:7: error: refusing raw_sql statement 1");
    expect_contains(r.err, "public.accounts (~1,000 rows)");
    expect_contains(r.err, "hazard " + hazard + " is not in allow_hazards");
    expect_contains(r.err, "add 'allow_hazards: [" + hazard + "]'");
    EXPECT_EQ(schema_dump(), before) << "a refused start changed the schema";
    EXPECT_EQ(migration_rows(), 0) << "a refused start was recorded";
    return r.err;
  }

  // Every test starts with accounts: 1,000 rows, analyzed.
  void SetUp() override {
    CoreTest::SetUp();
    if (IsSkipped()) return;
    sql("CREATE TABLE accounts (id bigint PRIMARY KEY, name text, visits int)");
    sql("INSERT INTO accounts SELECT i, 'n' || i, i FROM generate_series(1, 1000) i");
    sql("ANALYZE accounts");
  }

  std::string column_type(const std::string& table, const std::string& column) {
    return scalar_text(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid "
        "= '" +
        table + "'::regclass AND attname = '" + column + "'");
  }
};

TEST_F(CoreRawHazards, AlterTypeIsRefusedOnALiveTableAndRunsWhenAllowed) {
  const std::string up = "ALTER TABLE accounts ALTER COLUMN visits TYPE bigint";
  const std::string down = "ALTER TABLE accounts ALTER COLUMN visits TYPE int";
  auto f = raw("0001_visits_bigint", up, down);
  auto plan = ok({"plan", f});
  expect_contains(plan.out, "scans:    no   rewrites: yes");
  expect_contains(plan.out, "public.accounts: rewrites the table under ACCESS EXCLUSIVE");
  expect_contains(plan.out,
                  "hazard:   rewrites_table (sql 1): rewrites public.accounts "
                  "(~1,000 rows)");
  expect_contains(plan.out, "not allowed: 'colshift start' refuses it");
  expect_refused(f, "rewrites_table");
  EXPECT_EQ(column_type("accounts", "visits"), "integer");

  auto allowed = raw("0002_visits_bigint", up, down, "      allow_hazards: [rewrites_table]\n");
  expect_contains(ok({"plan", allowed}).out, "allowed by allow_hazards");
  ok({"start", allowed});
  EXPECT_EQ(column_type("accounts", "visits"), "bigint");
  ok({"rollback"});
  EXPECT_EQ(column_type("accounts", "visits"), "integer");
}

TEST_F(CoreRawHazards, SetNotNullAndPlainCreateIndexAreRefusedThenRunWhenAllowed) {
  auto nn = raw("0001_name_nn", "ALTER TABLE accounts ALTER COLUMN name SET NOT NULL",
                "ALTER TABLE accounts ALTER COLUMN name DROP NOT NULL");
  auto plan = ok({"plan", nn});
  expect_contains(plan.out, "public.accounts: scans the table under ACCESS EXCLUSIVE");
  std::string err = expect_refused(nn, "scans_under_lock");
  expect_contains(err, "CHECK (col IS NOT NULL) NOT VALID; VALIDATE");

  auto idx = raw("0002_name_idx", "CREATE INDEX accounts_name_idx ON accounts (name)",
                 "DROP INDEX accounts_name_idx");
  plan = ok({"plan", idx});
  expect_contains(plan.out, "lock:     SHARE on public.accounts");
  expect_contains(plan.out, "public.accounts: scans the table under SHARE");
  err = expect_refused(idx, "scans_under_lock");
  expect_contains(err, "CREATE INDEX CONCURRENTLY");

  auto both = migration("0003_allowed",
                        "purpose: both, allowed\noperations:\n  - raw_sql:\n"
                        "      up: ALTER TABLE accounts ALTER COLUMN name SET NOT NULL\n"
                        "      down: ALTER TABLE accounts ALTER COLUMN name DROP NOT NULL\n"
                        "      allow_hazards: [scans_under_lock]\n"
                        "  - raw_sql:\n"
                        "      up: CREATE INDEX accounts_name_idx ON accounts (name)\n"
                        "      down: DROP INDEX accounts_name_idx\n"
                        "      allow_hazards: [scans_under_lock]\n");
  ok({"start", both});
  EXPECT_TRUE(column_not_null("accounts", "name"));
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_indexes WHERE indexname = 'accounts_name_idx'"), 1);
}

TEST_F(CoreRawHazards, ATableCreatedInTheSameRawSqlIsNewAndNotRefused) {
  auto f = raw("0001_audit",
               "CREATE TABLE audit (id bigint PRIMARY KEY, at int); "
               "INSERT INTO audit SELECT id, visits FROM accounts; "
               "CREATE INDEX audit_at_idx ON audit (at); "
               "ALTER TABLE audit ALTER COLUMN at TYPE bigint; "
               "ALTER TABLE audit ALTER COLUMN at SET NOT NULL",
               "DROP TABLE audit");
  auto plan = ok({"plan", f});
  EXPECT_EQ(plan.out.find("hazard:"), std::string::npos) << plan.out;
  expect_contains(plan.out, "public.audit: SHARE (new: created by this migration, not yet in use)");
  ok({"start", f});
  EXPECT_EQ(scalar_int("SELECT count(*) FROM audit"), 1000);
  EXPECT_EQ(column_type("audit", "at"), "bigint");
}

TEST_F(CoreRawHazards, AnEmptyLiveTableIsNotRefusedAndMigrateRefusesLikeStart) {
  sql("CREATE TABLE drafts (id bigint PRIMARY KEY, title text)");
  auto empty = raw("0001_drafts_title", "ALTER TABLE drafts ALTER COLUMN title SET NOT NULL",
                   "ALTER TABLE drafts ALTER COLUMN title DROP NOT NULL");
  expect_contains(ok({"plan", empty}).out, "not refused: the table is empty");
  ok({"start", empty});
  EXPECT_TRUE(column_not_null("drafts", "title"));
  ok({"complete", "--quiet-period", "0s"});

  std::string before = schema_dump();
  write_file("migrations/0001_visits.yaml",
             "purpose: wider visits\noperations:\n  - raw_sql:\n"
             "      up: ALTER TABLE accounts ALTER COLUMN visits TYPE bigint\n"
             "      down: ALTER TABLE accounts ALTER COLUMN visits TYPE int\n");
  auto r = colshift({"migrate", dir_ + "/migrations"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  expect_contains(r.err, "hazard rewrites_table is not in allow_hazards");
  EXPECT_EQ(schema_dump(), before);
}

TEST_F(CoreRawHazards, RenameSaysTheOldAppBreaksInPlanAndStart) {
  auto f = raw("0001_full_name", "ALTER TABLE accounts RENAME COLUMN name TO full_name",
               "ALTER TABLE accounts RENAME COLUMN full_name TO name");
  auto plan = ok({"plan", f});
  EXPECT_EQ(plan.out.find("both work"), std::string::npos) << plan.out;
  expect_contains(plan.out,
                  "note: the old app version stops working during start: step 1 renames "
                  "column name of public.accounts (~1,000 rows) to full_name: app "
                  "versions that still use public.accounts.name fail.");
  expect_refused(f, "breaks_old_app");

  auto allowed = raw("0002_full_name", "ALTER TABLE accounts RENAME COLUMN name TO full_name",
                     "ALTER TABLE accounts RENAME COLUMN full_name TO name",
                     "      allow_hazards: [breaks_old_app]\n");
  auto r = ok({"start", allowed});
  EXPECT_EQ(r.out.find("both app versions work"), std::string::npos) << r.out;
  expect_contains(r.out,
                  "only the new app version works (step 1 renames column name of "
                  "public.accounts (~1,000 rows) to full_name");
  EXPECT_TRUE(has_column("accounts", "full_name"));
}

TEST_F(CoreRawHazards, PlanJsonCarriesEveryStatementsFactsAndHazards) {
  auto f = raw("0001_two", "ALTER TABLE accounts ADD COLUMN note text; TRUNCATE accounts",
               "ALTER TABLE accounts DROP COLUMN note");
  auto r = ok({"--json", "plan", f});
  auto j = nlohmann::json::parse(r.out);
  const auto& step = j["steps"][0];
  ASSERT_EQ(step["statements"].size(), 2u) << r.out;
  const auto& add = step["statements"][0];
  EXPECT_EQ(add["relations"][0]["relation"], "public.accounts");
  EXPECT_EQ(add["relations"][0]["lock"], "ACCESS EXCLUSIVE");
  EXPECT_EQ(add["relations"][0]["rows"], 1000);
  EXPECT_EQ(add["hazards"].size(), 0u);
  const auto& trunc = step["statements"][1];
  ASSERT_EQ(trunc["hazards"].size(), 1u) << r.out;
  EXPECT_EQ(trunc["hazards"][0]["hazard"], "deletes_data");
  EXPECT_EQ(trunc["hazards"][0]["refused"], true);
  EXPECT_EQ(step["lock_table"], "public.accounts");
  EXPECT_EQ(step["where"], f + ":4:7");
}

constexpr int kLockTimeoutMs = 200;
constexpr int kSlackMs = 1000;

TEST_F(CoreRawHazards, RawAlterGivesWayUnderLockTimeoutAndReadersNeverQueueLong) {
  std::string before = schema_dump();
  auto f = raw("0001_note", "ALTER TABLE accounts ADD COLUMN note text",
               "ALTER TABLE accounts DROP COLUMN note");
  auto blocker = connect();
  blocker->exec("BEGIN");
  blocker->exec("SELECT count(*) FROM accounts");  // ACCESS SHARE until ROLLBACK
  LatencyProbe reader(connect(), "SELECT count(*) FROM accounts WHERE id = 42");
  auto r = colshift(
      {"start", f, "--lock-timeout", std::to_string(kLockTimeoutMs) + "ms", "--lock-retries", "4"});
  reader.stop();
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  expect_contains(r.err, "(55P03); retry 1 in");
  expect_contains(r.err,
                  "could not take the lock on public.accounts within lock_timeout 200 ms, "
                  "4 tries; it is held by pid " +
                      std::to_string(blocker->backend_pid()));
  EXPECT_EQ(reader.errors(), 0);
  EXPECT_GT(reader.calls(), 20);
  EXPECT_LT(reader.max_ms(), kLockTimeoutMs + kSlackMs)
      << "a reader queued behind the raw ALTER for " << reader.max_ms() << " ms";
  blocker->exec("ROLLBACK");
  EXPECT_EQ(schema_dump(), before);
  ok({"rollback"});
}

}  // namespace
}  // namespace colshift::testing
