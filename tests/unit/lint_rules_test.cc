// Every rule: its own "triggers" example fires it and its "safe recipe"
// example does not; its doc page is current. Plus the cases where squawk-era
// linters gave false positives: tables created in the same file, SET NOT NULL
// after a validated CHECK, non-volatile defaults, version gates.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lint/migration_file.h"
#include "lint/output.h"
#include "lint/rules.h"
#include "lint_support.h"

namespace colshift::lint {
namespace {

using testing::has_rule;
using testing::joined;
using testing::lint_text;
using testing::rule_ids;

// Rules whose examples are colshift YAML, tested in lint_yaml_test.cc.
bool yaml_rule(const std::string& id) {
  return id == "invalid-migration-file" || id == "add-column-not-null-without-up";
}

class LintRuleExamples : public ::testing::TestWithParam<const RuleInfo*> {};

TEST_P(LintRuleExamples, BadTriggersGoodDoesNot) {
  const RuleInfo& r = *GetParam();
  if (yaml_rule(r.id)) GTEST_SKIP() << "YAML example";
  auto bad = lint_text(r.bad);
  EXPECT_TRUE(has_rule(bad, r.id)) << r.id << " not found in: " << joined(rule_ids(bad)) << "\n"
                                   << r.bad;
  auto good = lint_text(r.good);
  EXPECT_FALSE(has_rule(good, r.id)) << r.id << " fired on its safe recipe:\n" << r.good;
}

TEST_P(LintRuleExamples, DocPageIsCurrent) {
  const RuleInfo& r = *GetParam();
  std::string path = std::string(COLSHIFT_SOURCE_DIR) + "/docs/lint/" + r.id + ".md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path << " (regenerate: docs/lint/generate.sh)";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), explain_markdown(r)) << path << " is stale; regenerate it with "
                                           << "docs/lint/generate.sh";
}

INSTANTIATE_TEST_SUITE_P(AllRules, LintRuleExamples, ::testing::ValuesIn(all_rules()),
                         [](const auto& param_info) {
                           std::string name = param_info.param->id;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(LintRules, CatalogueIsWellFormed) {
  std::set<std::string> ids;
  for (const auto* r : all_rules()) {
    EXPECT_TRUE(ids.insert(r->id).second) << "duplicate id " << r->id;
    EXPECT_FALSE(std::string(r->summary).empty()) << r->id;
    EXPECT_FALSE(std::string(r->recipe).empty()) << r->id;
    EXPECT_EQ(find_rule(r->id), r);
  }
  EXPECT_GE(all_rules().size(), 60u);
}

TEST(LintRules, TableCreatedInSameFileIsNotLive) {
  auto r = lint_text(
      "SET lock_timeout = '1s';\n"
      "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, email text);\n"
      "CREATE INDEX IF NOT EXISTS accounts_email_idx ON accounts (email);\n"
      "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS token uuid DEFAULT gen_random_uuid();\n"
      "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;\n"
      "ALTER TABLE accounts ADD CONSTRAINT accounts_email_check CHECK (email <> '');\n"
      "UPDATE accounts SET email = lower(email);\n");
  EXPECT_TRUE(r.findings.empty()) << joined(rule_ids(r));
}

TEST(LintRules, SetNotNullAfterValidatedCheckIsCheapFrom12) {
  std::string sql =
      "SET lock_timeout = '1s';\n"
      "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\n"
      "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\n"
      "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n";
  EXPECT_FALSE(has_rule(lint_text(sql, 120000), "set-not-null"));
  EXPECT_TRUE(has_rule(lint_text(sql, 110000), "set-not-null"));
  // Without the VALIDATE the check proves nothing.
  std::string unvalidated =
      "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\n"
      "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n";
  EXPECT_TRUE(has_rule(lint_text(unvalidated, 150000), "set-not-null"));
}

TEST(LintRules, NonVolatileDefaultsAreFine) {
  for (const char* def : {"0", "'x'", "now()", "CURRENT_TIMESTAMP", "lower('A')", "'{}'::jsonb"}) {
    auto r = lint_text(std::string("ALTER TABLE t ADD COLUMN c text DEFAULT ") + def + ";");
    EXPECT_FALSE(has_rule(r, "add-column-volatile-default")) << def;
    EXPECT_FALSE(has_rule(r, "add-column-default-unproven")) << def;
  }
  EXPECT_TRUE(has_rule(lint_text("ALTER TABLE t ADD COLUMN c float8 DEFAULT random();"),
                       "add-column-volatile-default"));
  EXPECT_TRUE(has_rule(lint_text("ALTER TABLE t ADD COLUMN c int DEFAULT 0;", 100000),
                       "add-column-default-before-11"));
}

TEST(LintRules, LockTimeoutScopeEndsAtCommitForSetLocal) {
  auto r = lint_text(
      "BEGIN;\nSET LOCAL lock_timeout = '1s';\nALTER TABLE a ADD COLUMN c int;\nCOMMIT;\n"
      "ALTER TABLE b ADD COLUMN c int;\n");
  ASSERT_EQ(testing::count_rule(r, "missing-lock-timeout"), 1) << joined(rule_ids(r));
  for (const auto& f : r.findings) {
    if (f.rule == "missing-lock-timeout") {
      EXPECT_EQ(f.at.line, 5);
    }
  }
  auto session = lint_text(
      "SET lock_timeout = '1s';\nALTER TABLE a ADD COLUMN c int;\n"
      "BEGIN;\nALTER TABLE b ADD COLUMN c int;\nCOMMIT;\n");
  EXPECT_FALSE(has_rule(session, "missing-lock-timeout"));
  EXPECT_FALSE(has_rule(lint_text("SET lock_timeout = 0;\nSET lock_timeout = '2s';\nDROP TABLE t;"),
                        "missing-lock-timeout"));
  EXPECT_TRUE(has_rule(lint_text("SET lock_timeout = '2s';\nRESET lock_timeout;\nDROP TABLE t;"),
                       "missing-lock-timeout"));
}

TEST(LintRules, TypeChangesClassifiedExactly) {
  auto check = [](const std::string& given, const std::string& to, const std::string& want) {
    auto r = lint_text("-- given: t.c is " + given +
                       "\nSET lock_timeout = '1s';\n"
                       "ALTER TABLE t ALTER COLUMN c TYPE " +
                       to + ";");
    auto ids = rule_ids(r);
    bool rewrite = has_rule(r, "column-type-rewrite");
    bool tz = has_rule(r, "column-type-timezone-dependent");
    std::string got = rewrite ? "rewrite" : tz ? "timezone" : "none";
    EXPECT_EQ(got, want) << given << " -> " << to << ": " << joined(ids);
  };
  check("varchar(20)", "text", "none");
  check("varchar(20)", "varchar(40)", "none");
  check("varchar(40)", "varchar(20)", "rewrite");
  check("text", "varchar(20)", "rewrite");
  check("numeric(10)", "numeric(12)", "none");
  check("int4", "int8", "rewrite");
  check("cidr", "inet", "none");
  check("json", "jsonb", "rewrite");
  check("timestamp", "timestamptz", "timezone");
  check("timestamp", "text", "rewrite");
  auto utc = lint_text(
      "-- given: t.c is timestamp\nBEGIN;\nSET LOCAL lock_timeout = '1s';\n"
      "SET LOCAL TimeZone = 'UTC';\nALTER TABLE t ALTER COLUMN c TYPE timestamptz;\nCOMMIT;");
  EXPECT_FALSE(has_rule(utc, "column-type-timezone-dependent")) << joined(rule_ids(utc));
  EXPECT_FALSE(has_rule(utc, "column-type-rewrite"));
  auto old = lint_text("-- given: t.c is timestamp\nALTER TABLE t ALTER COLUMN c TYPE timestamptz;",
                       110000);
  EXPECT_TRUE(has_rule(old, "column-type-rewrite"));
}

TEST(LintRules, VersionGates) {
  EXPECT_TRUE(has_rule(lint_text("CREATE INDEX CONCURRENTLY i ON t (a);", 140003),
                       "concurrent-index-pg14-bug"));
  EXPECT_FALSE(has_rule(lint_text("CREATE INDEX CONCURRENTLY i ON t (a);", 140004),
                        "concurrent-index-pg14-bug"));
  EXPECT_FALSE(has_rule(lint_text("CREATE INDEX CONCURRENTLY i ON t (a);", 130000),
                        "concurrent-index-pg14-bug"));
  EXPECT_TRUE(has_rule(lint_text("ALTER TABLE m DETACH PARTITION p CONCURRENTLY;", 130000),
                       "unsupported-on-version"));
  EXPECT_FALSE(has_rule(lint_text("ALTER TABLE m DETACH PARTITION p;", 130000),
                        "detach-partition-not-concurrently"));
  EXPECT_TRUE(has_rule(lint_text("ALTER TABLE m DETACH PARTITION p;", 140000),
                       "detach-partition-not-concurrently"));
  EXPECT_FALSE(has_rule(lint_text("REINDEX INDEX i;", 110000), "reindex-non-concurrently"));
}

TEST(LintRules, PlpgsqlBodiesAreLinted) {
  auto r = lint_text(
      "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n"
      "  CREATE INDEX i ON users (email);\n  IF true THEN DELETE FROM sessions; END IF;\nEND $$;");
  EXPECT_TRUE(has_rule(r, "create-index-non-concurrently")) << joined(rule_ids(r));
  EXPECT_TRUE(has_rule(r, "unbatched-delete"));
  for (const auto& f : r.findings) {
    if (f.rule == "create-index-non-concurrently") {
      EXPECT_EQ(f.at.line, 3);
    }
  }
  // A function body does not run at CREATE FUNCTION: no transaction rules.
  EXPECT_FALSE(has_rule(r, "missing-lock-timeout"));
  auto d = lint_text("DO $$ BEGIN EXECUTE 'CREATE INDEX CONCURRENTLY i ON t (a)'; END $$;");
  EXPECT_TRUE(has_rule(d, "concurrently-in-transaction")) << joined(rule_ids(d));
}

TEST(LintRules, ForeignKeyIndexFoundLaterInFile) {
  EXPECT_FALSE(
      has_rule(lint_text("CREATE TABLE o (id bigint PRIMARY KEY, u bigint REFERENCES users (id));\n"
                         "CREATE INDEX o_u_idx ON o (u);"),
               "foreign-key-without-index"));
  EXPECT_TRUE(has_rule(
      lint_text("ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id) NOT VALID;"),
      "foreign-key-without-index"));
}

TEST(LintRules, LockOrderAcrossTransactions) {
  auto r = lint_text(
      "BEGIN;\nALTER TABLE a ADD COLUMN x int;\nALTER TABLE b ADD COLUMN x int;\nCOMMIT;\n"
      "BEGIN;\nALTER TABLE b ADD COLUMN y int;\nALTER TABLE a ADD COLUMN y int;\nCOMMIT;\n");
  ASSERT_TRUE(has_rule(r, "lock-order-conflict")) << joined(rule_ids(r));
  for (const auto& f : r.findings) {
    if (f.rule == "lock-order-conflict") {
      EXPECT_EQ(f.at.line, 7);
      EXPECT_NE(f.message.find("line 3"), std::string::npos) << f.message;
    }
  }
}

TEST(LintRules, LockOrderIgnoresTablesTheTransactionAlreadyHolds) {
  // One transaction touching a, b, then a again: a is not locked anew, so
  // there is no opposite order to deadlock with (the bench corpus had 314
  // such false findings).
  auto r = lint_text(
      "BEGIN;\nALTER TABLE a ADD COLUMN x int;\nALTER TABLE b ADD COLUMN x int;\n"
      "ALTER TABLE a ADD COLUMN y int;\nALTER TABLE b ADD COLUMN y int;\nCOMMIT;\n");
  EXPECT_FALSE(has_rule(r, "lock-order-conflict")) << joined(rule_ids(r));
}

TEST(LintRules, DropOfAnIndexCreatedEarlierInTheFileLocksItsTable) {
  auto r = lint_text(
      "SET lock_timeout = '1s';\n"
      "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_region_idx ON users (region);\n"
      "DROP INDEX users_region_idx;\n");
  EXPECT_TRUE(has_rule(r, "drop-index-non-concurrently")) << joined(rule_ids(r));
  ASSERT_EQ(r.facts.size(), 3u);
  bool users_locked = false;
  for (const auto& rel : r.facts[2].relations) {
    users_locked =
        users_locked || (rel.relation == "users" && rel.lock == LockMode::kAccessExclusive);
  }
  EXPECT_TRUE(users_locked);
}

TEST(LintRules, RobustStatementsCoverDropColumnAndCreateIndex) {
  auto robust = [](const std::string& sql) {
    return has_rule(lint_text("SET lock_timeout = '1s';\n" + sql), "prefer-robust-stmts");
  };
  EXPECT_TRUE(robust("ALTER TABLE users DROP COLUMN legacy;\n"));
  EXPECT_FALSE(robust("ALTER TABLE users DROP COLUMN IF EXISTS legacy;\n"));
  EXPECT_TRUE(robust("CREATE INDEX users_a_idx ON users (a);\n"));
  EXPECT_FALSE(robust("CREATE INDEX IF NOT EXISTS users_a_idx ON users (a);\n"));
  EXPECT_TRUE(robust("ALTER TABLE users ADD CONSTRAINT users_n_pos CHECK (n > 0) NOT VALID;\n"));
  EXPECT_TRUE(robust("ALTER TABLE users RENAME COLUMN email TO mail;\n"));
  // Guarded in a DO block, it is the block's business.
  EXPECT_FALSE(robust(
      "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_constraint WHERE conname = 'users_n_pos') THEN "
      "ALTER TABLE users ADD CONSTRAINT users_n_pos CHECK (n > 0) NOT VALID; END IF; END$$;\n"));
  // Inside a transaction a failure undoes everything: a re-run is safe.
  EXPECT_FALSE(robust("BEGIN;\nALTER TABLE users DROP COLUMN legacy;\nCOMMIT;\n"));
}

TEST(LintRules, InlineIgnores) {
  auto r = lint_text(
      "-- colshift:ignore drop-table\nDROP TABLE IF EXISTS a;\nDROP TABLE IF EXISTS b;\n");
  ASSERT_EQ(testing::count_rule(r, "drop-table"), 1);
  auto file = lint_text("DROP TABLE a;\n-- colshift:ignore-file\n");
  EXPECT_TRUE(file.findings.empty());
  EXPECT_TRUE(file.skipped);
  auto unknown = lint_text("-- colshift:ignore drop-tabel\nDROP TABLE IF EXISTS a;\n");
  EXPECT_TRUE(has_rule(unknown, "unknown-rule-in-ignore"));
  EXPECT_TRUE(has_rule(unknown, "drop-table"));
}

}  // namespace
}  // namespace colshift::lint
