// colshift lint --format gitlab: GitLab's code quality report.
#include <gtest/gtest.h>

#include <set>

#include "lint/output.h"
#include "lint_support.h"

namespace colshift::lint {
namespace {

TEST(LintGitlab, IssueHasTheFieldsGitlabReads) {
  auto r = testing::lint_text("DROP TABLE t;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n",
                              150000);
  auto issues = render_gitlab({r});
  ASSERT_TRUE(issues.is_array());
  ASSERT_EQ(issues.size(), r.findings.size());
  ASSERT_FALSE(issues.empty());
  bool drop = false;
  for (const auto& i : issues) {
    EXPECT_EQ(i["type"], "issue");
    EXPECT_TRUE(i["description"].is_string() && !i["description"].get<std::string>().empty());
    EXPECT_TRUE(i["check_name"].is_string());
    EXPECT_EQ(i["fingerprint"].get<std::string>().size(), 32u) << i.dump();
    EXPECT_TRUE(std::set<std::string>({"info", "major", "critical"}).count(i["severity"]))
        << i.dump();
    EXPECT_EQ(i["location"]["path"], "test.sql");
    EXPECT_TRUE(i["location"]["lines"]["begin"].is_number_integer());
    if (i["check_name"] == "drop-table") {
      drop = true;
      EXPECT_EQ(i["severity"], "major");  // a warning
      EXPECT_EQ(i["location"]["lines"]["begin"], 1);
      EXPECT_NE(i["description"].get<std::string>().find(" Fix: "), std::string::npos);
    }
    if (i["check_name"] == "set-not-null") {
      EXPECT_EQ(i["severity"], "critical");  // an error: lint exits 3
      EXPECT_EQ(i["location"]["lines"]["begin"], 2);
    }
  }
  EXPECT_TRUE(drop) << issues.dump(2);
}

TEST(LintGitlab, FingerprintsAreUniqueAndSurviveMovedLines) {
  auto before = render_gitlab({testing::lint_text("DROP TABLE a;\nDROP TABLE a;\n", 150000)});
  auto after =
      render_gitlab({testing::lint_text("-- a comment\n\nDROP TABLE a;\nDROP TABLE a;\n", 150000)});
  ASSERT_EQ(before.size(), after.size());
  std::set<std::string> prints;
  for (size_t i = 0; i < before.size(); ++i) {
    prints.insert(before[i]["fingerprint"]);
    EXPECT_EQ(before[i]["fingerprint"], after[i]["fingerprint"]);
    EXPECT_EQ(after[i]["location"]["lines"]["begin"].get<int>(),
              before[i]["location"]["lines"]["begin"].get<int>() + 2);
  }
  EXPECT_EQ(prints.size(), before.size());  // the same statement twice: two fingerprints

  auto other = render_gitlab({testing::lint_text("DROP TABLE b;\n", 150000)});
  ASSERT_FALSE(other.empty());
  EXPECT_NE(other[0]["fingerprint"], before[0]["fingerprint"]);
}

TEST(LintGitlab, NoFindingsIsAnEmptyArray) {
  auto r = testing::lint_text("SELECT 1;\n", 150000);
  ASSERT_TRUE(r.findings.empty()) << r.findings[0].rule;
  EXPECT_EQ(render_gitlab({r}).dump(), "[]");
}

}  // namespace
}  // namespace colshift::lint
