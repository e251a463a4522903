// lint_files: many files on several threads give the same reports, in the
// same order, as one at a time; an unreadable file is an error naming it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lint/linter.h"
#include "lint/output.h"
#include "lint/rules.h"
#include "util/error.h"

namespace colshift::lint {
namespace {

namespace fs = std::filesystem;

class LintFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("colshift-lint-files-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    // Every rule's triggering example, as a file of its own (YAML ones as .yaml).
    for (const auto* r : all_rules()) {
      bool yaml = std::string(r->bad).find("purpose:") != std::string::npos;
      fs::path p = dir_ / (std::string(r->id) + (yaml ? ".yaml" : ".sql"));
      std::ofstream(p) << r->bad;
      files_.push_back(p.string());
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::vector<std::string> files_;
};

std::string as_json(const std::vector<FileReport>& reports) {
  std::ostringstream out;
  write_json(reports, nullptr, out);
  return out.str();
}

TEST_F(LintFiles, ThreadsGiveTheSameReportsInOrder) {
  LintOptions o;
  o.pg_version = 150000;
  auto one = lint_files(files_, o, 1);
  auto four = lint_files(files_, o, 4);
  ASSERT_EQ(one.size(), files_.size());
  ASSERT_EQ(four.size(), files_.size());
  for (size_t i = 0; i < files_.size(); ++i) EXPECT_EQ(four[i].path, files_[i]);
  EXPECT_EQ(as_json(one), as_json(four));
  size_t findings = 0;
  for (const auto& r : four) findings += r.findings.size();
  EXPECT_GE(findings, all_rules().size() - 1);  // every example triggers its rule
}

TEST_F(LintFiles, AMissingFileIsAnErrorNamingIt) {
  auto files = files_;
  std::string missing = (dir_ / "nope.sql").string();
  files.insert(files.begin() + 3, missing);
  try {
    lint_files(files, LintOptions{}, 2);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), missing) << e.what();
  }
}

}  // namespace
}  // namespace colshift::lint
