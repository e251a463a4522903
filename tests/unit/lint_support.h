// Helpers for the lint unit tests: lint SQL text with the preconditions that
// rule examples state in comments, and list the rule ids found.
//
//   -- with --pg-version 14.2        target version
//   -- given: users.id is int4       the live table has this column (as --db would say)
//   -- given: m is partitioned       the live table is partitioned
#pragma once

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lint/config.h"
#include "lint/linter.h"
#include "lint/type_change.h"

namespace colshift::lint::testing {

inline LintOptions options_for(const std::string& sql, int version = 0) {
  LintOptions o;
  o.pg_version = version;
  static const std::regex ver(R"(-- with --pg-version ([0-9.]+))");
  static const std::regex col(R"(-- given: ([\w.]+)\.(\w+) is ([\w ]+)(?:\((\d+)\))?)");
  static const std::regex part(R"(-- given: ([\w.]+) is partitioned)");
  std::smatch m;
  if (std::regex_search(sql, m, ver)) o.pg_version = parse_pg_version(m[1].str(), "test");
  std::string::const_iterator from = sql.begin();
  while (std::regex_search(from, sql.end(), m, col)) {
    ColumnInfo info;
    info.type.name = canonical_type(m[3].str());
    if (m[4].matched) info.type.mods.push_back(std::stoll(m[4].str()));
    o.catalog.columns[m[1].str()][m[2].str()] = info;
    from = m[0].second;
  }
  if (std::regex_search(sql, m, part)) o.catalog.partitioned.insert(m[1].str());
  return o;
}

inline FileReport lint_text(const std::string& sql, int version = 0) {
  return lint_sql("test.sql", sql, options_for(sql, version));
}

inline std::vector<std::string> rule_ids(const FileReport& r) {
  std::vector<std::string> ids;
  for (const auto& f : r.findings) ids.push_back(f.rule);
  return ids;
}

inline bool has_rule(const FileReport& r, const std::string& id) {
  auto ids = rule_ids(r);
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

inline long count_rule(const FileReport& r, const std::string& id) {
  auto ids = rule_ids(r);
  return std::count(ids.begin(), ids.end(), id);
}

inline std::string joined(const std::vector<std::string>& ids) {
  std::string s;
  for (const auto& i : ids) s += (s.empty() ? "" : ", ") + i;
  return s;
}

}  // namespace colshift::lint::testing
