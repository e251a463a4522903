// Splitting and parsing: exact positions, comments, syntax errors with a
// caret, PL/pgSQL bodies, ignore directives.
#include <gtest/gtest.h>

#include <sstream>

#include "lint/output.h"
#include "lint/parse.h"
#include "lint_support.h"

namespace colshift::lint {
namespace {

TEST(LintParse, SplitsWithExactPositions) {
  std::string sql = "-- header\nSELECT 1;\n\n  /* c */ ALTER TABLE t\n  ADD COLUMN c int;SELECT 2";
  auto p = parse_sql(sql);
  ASSERT_EQ(p.statements.size(), 3u);
  EXPECT_EQ(p.statements[0].start.line, 2);
  EXPECT_EQ(p.statements[0].start.column, 1);
  EXPECT_EQ(p.statements[0].text, "SELECT 1");
  EXPECT_EQ(p.statements[1].start.line, 4);
  EXPECT_EQ(p.statements[1].start.column, 11);
  EXPECT_EQ(p.statements[1].kind, "AlterTableStmt");
  EXPECT_EQ(p.statements[1].text, "ALTER TABLE t\n  ADD COLUMN c int");
  EXPECT_EQ(p.statements[2].start.line, 5);
  EXPECT_EQ(p.statements[2].start.column, 20);
}

TEST(LintParse, SyntaxErrorKeepsTheRestOfTheFile) {
  auto p = parse_sql("SELECT 1;\nALTER TABLE t ADD COLUMN;\nDROP TABLE x;");
  ASSERT_EQ(p.statements.size(), 3u);
  EXPECT_TRUE(p.statements[0].error.empty());
  EXPECT_EQ(p.statements[1].error, "syntax error at end of input");
  EXPECT_EQ(p.statements[1].error_at.line, 2);
  EXPECT_EQ(p.statements[1].error_at.column, 25);
  EXPECT_EQ(p.statements[2].kind, "DropStmt");
}

TEST(LintParse, UnterminatedQuoteDoesNotCrash) {
  auto p = parse_sql("SELECT 1;\nSELECT 'abc\n");
  ASSERT_FALSE(p.statements.empty());
  EXPECT_FALSE(p.statements.back().error.empty());
  auto q = parse_sql("/* never closed");
  EXPECT_TRUE(q.statements.empty() || !q.statements[0].error.empty());
}

TEST(LintParse, SyntaxErrorTextHasCaret) {
  auto r = testing::lint_text("SELECT 1;\nALTER TABLE t ADD COLUMN;\n");
  std::ostringstream out;
  render_text(r, false, false, out);
  EXPECT_EQ(out.str(),
            "test.sql:2:1: error[syntax-error]: syntax error at end of input\n"
            " 2 | ALTER TABLE t ADD COLUMN;\n"
            "   |                         ^\n"
            "  = fix: Fix the statement at the caret. colshift parses with PostgreSQL 15's "
            "grammar: syntax from a newer release does not parse here. A psql meta-command "
            "(\\i, \\set) must be on a line of its own.\n\n");
}

TEST(LintParse, PlpgsqlStatementsAreNested) {
  std::string sql =
      "DO $$\nBEGIN\n  ALTER TABLE t ADD COLUMN c int;\n  EXECUTE 'DROP TABLE x';\nEND\n$$;";
  auto p = parse_sql(sql);
  ASSERT_EQ(p.statements.size(), 3u);
  EXPECT_EQ(p.statements[0].kind, "DoStmt");
  EXPECT_EQ(p.statements[1].kind, "AlterTableStmt");
  EXPECT_EQ(p.statements[1].parent, 0);
  EXPECT_EQ(p.statements[1].start.line, 3);
  EXPECT_EQ(p.statements[1].start.column, 3);
  EXPECT_EQ(p.statements[2].kind, "DropStmt");
  EXPECT_EQ(p.statements[2].start.line, 4);
}

TEST(LintParse, BadPlpgsqlBodyIsAnErrorNotACrash) {
  auto p = parse_sql("DO $$ BEGIN ALTER TABLE; END $$;");
  ASSERT_GE(p.statements.size(), 2u);
  EXPECT_FALSE(p.statements[1].error.empty());
}

TEST(LintParse, IgnoreDirectives) {
  EXPECT_EQ(*parse_ignore_directive("colshift:ignore a, b c"),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*parse_ignore_directive("colshift:ignore-file"), (std::vector<std::string>{"*file*"}));
  EXPECT_FALSE(parse_ignore_directive("colshift:ignored"));
  EXPECT_FALSE(parse_ignore_directive("just a comment"));
  auto p = parse_sql("-- colshift:ignore drop-table\n/* other */\nDROP TABLE t;");
  ASSERT_EQ(p.statements.size(), 1u);
  EXPECT_EQ(p.statements[0].ignores, std::vector<std::string>{"drop-table"});
  EXPECT_EQ(p.statements[0].ignore_at.line, 1);
}

}  // namespace
}  // namespace colshift::lint
