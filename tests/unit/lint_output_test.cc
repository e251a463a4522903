// Output formats and configuration.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lint/config.h"
#include "lint/output.h"
#include "lint_support.h"
#include "util/error.h"

namespace colshift::lint {
namespace {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("colshift_lint_" + name + "_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d.string();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(LintOutput, TextIsExact) {
  auto r = testing::lint_text(
      "SET lock_timeout = '1s';\nALTER TABLE users\n  ALTER COLUMN email SET NOT NULL;\n", 150000);
  std::ostringstream out;
  render_text(r, false, false, out);
  EXPECT_EQ(out.str(),
            "test.sql:2:1: error[set-not-null]: SET NOT NULL on \"users\".\"email\" scans the "
            "whole table "
            "under an ACCESS EXCLUSIVE lock, blocking reads and writes.\n"
            " 2 | ALTER TABLE users\n"
            "   | ^~~~~~~~~~~~~~~~~\n"
            "  = facts:\n"
            "      AccessExclusiveLock on users (blocks reads, writes, DDL); scans; checks every "
            "row while "
            "holding the lock\n"
            "  = fix: " +
                std::string(find_rule("set-not-null")->recipe) +
                "\n\n"
                "test.sql:2:1: info[missing-statement-timeout]: This statement reads the whole "
                "of \"users\" while holding an ACCESS EXCLUSIVE lock, with no statement_timeout "
                "to bound how long it blocks.\n"
                " 2 | ALTER TABLE users\n"
                "   | ^~~~~~~~~~~~~~~~~\n"
                "  = fix: " +
                std::string(find_rule("missing-statement-timeout")->recipe) + "\n\n");
  EXPECT_EQ(summary_line({r}), "1 file, 2 statements: 1 error, 0 warnings, 1 info");
}

TEST(LintOutput, JsonShape) {
  auto r = testing::lint_text("CREATE INDEX i ON t (a);", 150000);
  auto j = render_json({r});
  EXPECT_EQ(j["format"], "colshift-lint");
  EXPECT_EQ(j["version"], 1);
  const auto& st = j["files"][0]["statements"][0];
  EXPECT_EQ(st["kind"], "IndexStmt");
  EXPECT_EQ(st["facts"]["lock"], "ShareLock");
  EXPECT_EQ(st["facts"]["blocks"]["writes"], true);
  EXPECT_EQ(st["facts"]["blocks"]["reads"], false);
  EXPECT_EQ(st["facts"]["relations"][0]["relation"], "t");
  EXPECT_EQ(st["facts"]["relations"][0]["scan"], true);
  const auto& f = j["files"][0]["findings"][0];
  EXPECT_TRUE(f.contains("rule") && f.contains("severity") && f.contains("recipe") &&
              f.contains("line"));
  EXPECT_EQ(j["summary"]["errors"], 1);    // create-index-non-concurrently
  EXPECT_EQ(j["summary"]["warnings"], 1);  // missing-lock-timeout
}

TEST(LintOutput, SarifAndGithub) {
  auto r = testing::lint_text("DROP TABLE t;", 150000);
  auto s = render_sarif({r});
  EXPECT_EQ(s["version"], "2.1.0");
  EXPECT_EQ(s["runs"][0]["tool"]["driver"]["rules"].size(), all_rules().size());
  bool found = false;
  for (const auto& res : s["runs"][0]["results"]) {
    if (res["ruleId"] == "drop-table") {
      found = true;
      EXPECT_EQ(res["level"], "warning");
      EXPECT_EQ(res["locations"][0]["physicalLocation"]["region"]["startLine"], 1);
    }
  }
  EXPECT_TRUE(found);
  std::ostringstream gh;
  render_github({r}, gh);
  EXPECT_NE(gh.str().find(
                "::warning file=test.sql,line=1,col=1,title=colshift drop-table::Dropping table"),
            std::string::npos)
      << gh.str();
  EXPECT_NE(gh.str().find("%0AFix: "), std::string::npos);
}

TEST(LintConfig, LoadsAndApplies) {
  std::string dir = temp_dir("config");
  write(dir + "/.colshift.yaml",
        "lint:\n  pg_version: 14.2\n  assume_lock_timeout: true\n  rules:\n    drop-table: error\n"
        "    prefer-robust-stmts: off\n  exclude:\n    - legacy/*\n");
  fs::create_directories(dir + "/sub/deeper");
  auto found = find_config(dir + "/sub/deeper");
  ASSERT_TRUE(found);
  LintOptions o;
  o.config = load_config(*found);
  EXPECT_EQ(o.config.pg_version, 140002);
  auto r = lint_sql("x.sql", "DROP TABLE t;\nCREATE INDEX CONCURRENTLY i ON t (a);", o);
  auto ids = testing::rule_ids(r);
  EXPECT_TRUE(testing::has_rule(r, "concurrent-index-pg14-bug")) << testing::joined(ids);
  EXPECT_FALSE(testing::has_rule(r, "missing-lock-timeout"));
  EXPECT_FALSE(testing::has_rule(r, "prefer-robust-stmts"));
  for (const auto& f : r.findings) {
    if (f.rule == "drop-table") {
      EXPECT_EQ(f.severity, Severity::kError);
    }
  }
  EXPECT_TRUE(o.config.excluded(dir + "/legacy/old.sql"));
  EXPECT_FALSE(o.config.excluded(dir + "/new.sql"));
  fs::remove_all(dir);
}

TEST(LintConfig, UnknownRuleIsAnErrorWithPosition) {
  std::string dir = temp_dir("badconfig");
  write(dir + "/.colshift.yaml", "lint:\n  rules:\n    no-such-rule: off\n");
  try {
    load_config(dir + "/.colshift.yaml");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_EQ(e.where(), dir + "/.colshift.yaml:3:5");
    EXPECT_EQ(std::string(e.what()), "unknown rule 'no-such-rule' in lint.rules");
  }
  fs::remove_all(dir);
}

TEST(LintConfig, PgVersions) {
  EXPECT_EQ(parse_pg_version("15", "x"), 150000);
  EXPECT_EQ(parse_pg_version("14.3", "x"), 140003);
  EXPECT_EQ(parse_pg_version("170002", "x"), 170002);
  EXPECT_THROW(parse_pg_version("9.6", "x"), Error);
  EXPECT_THROW(parse_pg_version("18", "x"), Error);
  EXPECT_THROW(parse_pg_version("latest", "x"), Error);
}

}  // namespace
}  // namespace colshift::lint
