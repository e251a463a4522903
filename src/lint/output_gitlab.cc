// GitLab code quality report (a subset of the Code Climate issue format):
// https://docs.gitlab.com/ee/ci/testing/code_quality.html#code-quality-report-format
#include <fmt/format.h>

#include <map>
#include <tuple>

#include "lint/output.h"
#include "migration/migration.h"

namespace colshift::lint {

using json = nlohmann::json;

namespace {

// GitLab's severities are info, minor, major, critical and blocker. An error
// fails `colshift lint` (exit 3): critical; a warning: major; info: info.
const char* gitlab_severity(Severity s) {
  switch (s) {
    case Severity::kError:
      return "critical";
    case Severity::kWarning:
      return "major";
    case Severity::kInfo:
      return "info";
  }
  return "major";
}

}  // namespace

json render_gitlab(const std::vector<FileReport>& reports) {
  json issues = json::array();
  for (const auto& rep : reports) {
    // The same finding on the same statement text, counted, so that repeated
    // statements get distinct fingerprints.
    std::map<std::tuple<std::string, std::string>, int> seen;
    for (const auto& f : rep.findings) {
      const std::string& anchor =
          f.statement >= 0 && static_cast<size_t>(f.statement) < rep.statements.size()
              ? rep.statements[static_cast<size_t>(f.statement)].text
              : f.message;
      int n = seen[{f.rule, anchor}]++;
      std::string key = fmt::format("{}\n{}\n{}\n{}", rep.path, f.rule, anchor, n);
      issues.push_back({{"type", "issue"},
                        {"check_name", f.rule},
                        {"description", f.message + (f.recipe.empty() ? "" : " Fix: " + f.recipe)},
                        {"categories", json::array({"Bug Risk"})},
                        {"fingerprint", migration::sha256_hex(key).substr(0, 32)},
                        {"severity", gitlab_severity(f.severity)},
                        {"location", {{"path", rep.path}, {"lines", {{"begin", f.at.line}}}}}});
    }
  }
  return issues;
}

}  // namespace colshift::lint
