#include "lint/migration_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <regex>
#include <set>

#include "lint/rules.h"
#include "lint/source.h"
#include "migration/migration.h"
#include "util/error.h"

namespace colshift::lint {

namespace {

// Where the SQL of a YAML scalar starts in the file, and how its lines map.
struct ScalarPlace {
  int line = 1;        // file line of the SQL's first line
  int column = 1;      // file column of the SQL's first character
  bool block = false;  // | or > block: later lines start at `indent`
  int indent = 1;
};

ScalarPlace place_of(const YAML::Node& node, const std::string& text, const SourceText& src) {
  ScalarPlace p;
  const YAML::Mark m = node.Mark();
  p.line = m.line + 1;
  p.column = m.column + 1;
  size_t at = src.offset_of(p.line, p.column);
  char c = at < text.size() ? text[at] : ' ';
  if (c == '|' || c == '>') {
    p.block = true;
    p.line += 1;
    std::string_view next = src.line_text(p.line);
    size_t indent = next.find_first_not_of(' ');
    p.indent = static_cast<int>(indent == std::string_view::npos ? 0 : indent) + 1;
    p.column = p.indent;
  } else if (c == '"' || c == '\'') {
    p.column += 1;
  }
  return p;
}

Position map_position(const Position& inner, const ScalarPlace& place, const SourceText& src) {
  Position out;
  out.line = place.line + inner.line - 1;
  out.column = inner.line == 1 ? place.column + inner.column - 1
                               : (place.block ? place.indent : 1) + inner.column - 1;
  out.offset = src.offset_of(out.line, out.column);
  return out;
}

// Lints one SQL scalar and moves its statements and findings into `report`.
void lint_embedded(FileReport& report, const std::string& sql, const ScalarPlace& place,
                   const SourceText& src, const LintOptions& options) {
  LintOptions inner = options;
  inner.assume_lock_timeout = true;
  FileReport r = lint_sql(report.path, sql, inner);
  int base = static_cast<int>(report.statements.size());
  for (auto& st : r.statements) {
    st.start = map_position(st.start, place, src);
    st.offset = st.start.offset;
    if (!st.error.empty()) st.error_at = map_position(st.error_at, place, src);
    if (st.parent >= 0) st.parent += base;
    report.statements.push_back(std::move(st));
  }
  for (auto& f : r.facts) report.facts.push_back(std::move(f));
  for (auto& f : r.findings) {
    f.at = map_position(f.at, place, src);
    if (f.statement >= 0) f.statement += base;
    report.findings.push_back(std::move(f));
  }
}

std::string quote(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void check_add_column(FileReport& report, const YAML::Node& op, const std::string& text,
                      const SourceText& src, const LintOptions& options) {
  const YAML::Node col = op["column"];
  if (!col || !col.IsMap()) return;
  std::string name = col["name"] ? col["name"].as<std::string>("") : "";
  std::string type = col["type"] ? col["type"].as<std::string>("") : "";
  bool nullable = col["nullable"] ? col["nullable"].as<bool>(true) : true;
  if (!nullable && !col["default"] && !op["up"]) {
    const RuleInfo* info = find_rule("add-column-not-null-without-up");
    Position at = map_position({1, 1, 0}, place_of(col["nullable"], text, src), src);
    report.findings.push_back(
        {info->id, info->severity,
         fmt::format("Column \"{}\" is NOT NULL but has neither `default` nor "
                     "`up`: existing rows cannot be filled.",
                     name),
         info->recipe, -1, at});
  }
  if (name.empty() || type.empty() || !col["type"]) return;
  // Type and naming hygiene: lint the column as SQL at the `type` value.
  std::string table = op["table"] ? op["table"].as<std::string>("t") : "t";
  std::string sql = "ALTER TABLE " + quote(table) + " ADD COLUMN " + quote(name) + " " + type;
  ScalarPlace place = place_of(col["type"], text, src);
  LintOptions inner = options;
  inner.assume_lock_timeout = true;
  FileReport r = lint_sql(report.path, sql, inner);
  std::set<std::string> allowed;
  for (const auto* fam : rule_families()) {
    if (std::string(fam->name) != "types" && std::string(fam->name) != "naming") continue;
    for (const auto& rule : fam->rules) allowed.insert(rule.id);
  }
  for (auto& f : r.findings) {
    if (!allowed.count(f.rule)) continue;
    f.at = map_position({1, 1, 0}, place, src);
    f.statement = -1;
    report.findings.push_back(std::move(f));
  }
}

// The loader's "file:line:col" where, as a Position.
Position error_position(const std::string& where, const SourceText& src) {
  static const std::regex re(R"(:(\d+):(\d+))");
  std::smatch m;
  Position p;
  if (std::regex_search(where, m, re)) {
    p.line = std::stoi(m[1].str());
    p.column = std::stoi(m[2].str());
  }
  p.offset = src.offset_of(p.line, p.column);
  return src.position(p.offset);
}

}  // namespace

FileReport lint_migration_file(const std::string& path, const std::string& text,
                               const LintOptions& options) {
  FileReport report;
  report.path = path;
  report.text = text;
  report.pg_version = options.effective_pg_version();
  SourceText src(text);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    root = YAML::Node();
  }
  const YAML::Node ops = root.IsMap() ? root["operations"] : YAML::Node();
  if (ops && ops.IsSequence()) {
    for (const auto& item : ops) {
      if (!item.IsMap()) continue;
      for (const auto& kv : item) {
        std::string kind = kv.first.as<std::string>("");
        const YAML::Node& op = kv.second;
        if (!op.IsMap()) continue;
        if (kind == "add_column") check_add_column(report, op, text, src, options);
        if (kind != "raw_sql") continue;
        for (const char* key : {"up", "down"}) {
          if (op[key] && op[key].IsScalar()) {
            lint_embedded(report, op[key].Scalar(), place_of(op[key], text, src), src, options);
          }
        }
      }
    }
  }
  try {
    migration::parse_migration(text, path);
  } catch (const Error& e) {
    Position at = error_position(e.where(), src);
    bool known = std::any_of(report.findings.begin(), report.findings.end(),
                             [&](const Finding& f) { return f.at.line == at.line; });
    if (!known) {
      const RuleInfo* info = find_rule("invalid-migration-file");
      std::string hint = e.hint().empty() ? info->recipe : e.hint();
      report.findings.push_back({info->id, info->severity, e.what(), hint, -1, at});
    }
  }
  return report;
}

}  // namespace colshift::lint
