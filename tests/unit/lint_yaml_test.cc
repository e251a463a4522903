// colshift's own migration files: operations are checked and raw_sql is
// linted as SQL, with positions in the YAML file.
#include <gtest/gtest.h>

#include "lint/migration_file.h"
#include "lint_support.h"

namespace colshift::lint {
namespace {

FileReport lint_yaml(const std::string& text) {
  LintOptions o;
  o.pg_version = 150000;
  return lint_migration_file("m.yaml", text, o);
}

TEST(LintYaml, NotNullWithoutDefaultOrUp) {
  auto r = lint_yaml(
      "purpose: test\noperations:\n  - add_column:\n      table: users\n"
      "      column: {name: plan, type: text, nullable: false}\n");
  ASSERT_TRUE(testing::has_rule(r, "add-column-not-null-without-up"))
      << testing::joined(testing::rule_ids(r));
  EXPECT_FALSE(testing::has_rule(r, "invalid-migration-file"));
  auto ok = lint_yaml(
      "purpose: test\noperations:\n  - add_column:\n      table: users\n"
      "      column: {name: plan, type: text, nullable: false}\n      up: \"'free'\"\n");
  EXPECT_TRUE(ok.findings.empty()) << testing::joined(testing::rule_ids(ok));
}

TEST(LintYaml, ColumnTypeHygiene) {
  auto r = lint_yaml(
      "purpose: test\noperations:\n  - add_column:\n      table: users\n"
      "      column:\n        name: seen_at\n        type: timestamp\n");
  ASSERT_TRUE(testing::has_rule(r, "prefer-timestamptz"));
  EXPECT_EQ(r.findings[0].at.line, 7);
  EXPECT_EQ(r.findings[0].at.column, 15);
}

TEST(LintYaml, RawSqlIsLintedWithYamlPositions) {
  auto r = lint_yaml(
      "purpose: test\noperations:\n  - raw_sql:\n      up: |\n        SELECT 1;\n"
      "        CREATE INDEX i ON users (email);\n      down: DROP INDEX CONCURRENTLY IF EXISTS "
      "i\n");
  ASSERT_TRUE(testing::has_rule(r, "create-index-non-concurrently"))
      << testing::joined(testing::rule_ids(r));
  EXPECT_FALSE(testing::has_rule(r, "missing-lock-timeout"));  // colshift sets it for every step
  for (const auto& f : r.findings) {
    if (f.rule == "create-index-non-concurrently") {
      EXPECT_EQ(f.at.line, 6);
      EXPECT_EQ(f.at.column, 27);
    }
  }
}

TEST(LintYaml, InvalidFileIsAFinding) {
  auto r = lint_yaml("operations:\n  - add_column: {table: users}\n");
  ASSERT_TRUE(testing::has_rule(r, "invalid-migration-file"));
  EXPECT_GE(r.findings[0].at.line, 1);
}

}  // namespace
}  // namespace colshift::lint
