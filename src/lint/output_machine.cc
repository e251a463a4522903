// Machine-readable output: JSON, SARIF 2.1.0, GitHub annotations.
#include <fmt/format.h>

#include "lint/output.h"

namespace colshift::lint {

using json = nlohmann::json;

namespace {

json position_json(const Position& p) {
  return {{"line", p.line}, {"column", p.column}, {"offset", p.offset}};
}

const char* sarif_level(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInfo:
      return "note";
  }
  return "warning";
}

// Escaping of GitHub workflow command data and properties.
std::string gh_escape(const std::string& s, bool property) {
  std::string out;
  for (char c : s) {
    if (c == '%')
      out += "%25";
    else if (c == '\r')
      out += "%0D";
    else if (c == '\n')
      out += "%0A";
    else if (property && c == ':')
      out += "%3A";
    else if (property && c == ',')
      out += "%2C";
    else
      out += c;
  }
  return out;
}

}  // namespace

json finding_json(const Finding& f) {
  return {{"rule", f.rule},
          {"severity", severity_name(f.severity)},
          {"message", f.message},
          {"recipe", f.recipe},
          {"statement", f.statement >= 0 ? json(f.statement) : json(nullptr)},
          {"line", f.at.line},
          {"column", f.at.column},
          {"offset", f.at.offset}};
}

json statement_json(const Statement& st, const StatementFacts& facts, int index) {
  json relations = json::array();
  for (const auto& r : facts.relations) {
    Blocks b = blocks_of(r.lock);
    relations.push_back({{"relation", r.relation},
                         {"lock", lock_name(r.lock)},
                         {"rewrite", r.rewrite},
                         {"scan", r.scan},
                         {"index_rebuild", r.index_rebuild},
                         {"created_here", r.created_here},
                         {"blocks", {{"reads", b.reads}, {"writes", b.writes}, {"ddl", b.ddl}}},
                         {"note", r.note}});
  }
  Blocks b = facts.blocks();
  return {{"index", index},
          {"kind", st.kind},
          {"sql", st.text},
          {"line", st.start.line},
          {"column", st.start.column},
          {"offset", st.offset},
          {"length", st.length},
          {"parent", st.parent >= 0 ? json(st.parent) : json(nullptr)},
          {"error", st.error.empty()
                        ? json(nullptr)
                        : json({{"message", st.error}, {"position", position_json(st.error_at)}})},
          {"facts",
           {{"lock", lock_name(facts.strongest())},
            {"blocks", {{"reads", b.reads}, {"writes", b.writes}, {"ddl", b.ddl}}},
            {"in_transaction_allowed", facts.in_transaction},
            {"lock_timeout", facts.lock_timeout.empty() ? json(nullptr) : json(facts.lock_timeout)},
            {"relations", relations}}}};
}

json render_json(const std::vector<FileReport>& reports) {
  json files = json::array();
  size_t errors = 0, warnings = 0, infos = 0, statements = 0;
  int version = 0;
  for (const auto& r : reports) {
    json sts = json::array();
    for (size_t i = 0; i < r.statements.size(); ++i) {
      StatementFacts none;
      sts.push_back(statement_json(r.statements[i], i < r.facts.size() ? r.facts[i] : none,
                                   static_cast<int>(i)));
    }
    json fs = json::array();
    for (const auto& f : r.findings) {
      fs.push_back(finding_json(f));
      errors += f.severity == Severity::kError;
      warnings += f.severity == Severity::kWarning;
      infos += f.severity == Severity::kInfo;
    }
    statements += r.statements.size();
    version = r.pg_version;
    files.push_back({{"path", r.path},
                     {"skipped", r.skipped},
                     {"pg_version", r.pg_version},
                     {"statements", sts},
                     {"findings", fs}});
  }
  return {{"format", "colshift-lint"},
          {"version", 1},
          {"pg_version", version},
          {"files", files},
          {"summary",
           {{"files", reports.size()},
            {"statements", statements},
            {"errors", errors},
            {"warnings", warnings},
            {"info", infos}}}};
}

json render_sarif(const std::vector<FileReport>& reports) {
  json rules = json::array();
  for (const auto* r : all_rules()) {
    rules.push_back({{"id", r->id},
                     {"name", r->id},
                     {"shortDescription", {{"text", r->summary}}},
                     {"fullDescription", {{"text", r->why}}},
                     {"help", {{"text", r->recipe}, {"markdown", explain_markdown(*r)}}},
                     {"helpUri", fmt::format("docs/lint/{}.md", r->id)},
                     {"defaultConfiguration", {{"level", sarif_level(r->severity)}}}});
  }
  json results = json::array();
  for (const auto& rep : reports) {
    for (const auto& f : rep.findings) {
      results.push_back(
          {{"ruleId", f.rule},
           {"level", sarif_level(f.severity)},
           {"message", {{"text", f.message + (f.recipe.empty() ? "" : " Fix: " + f.recipe)}}},
           {"locations",
            json::array(
                {{{"physicalLocation",
                   {{"artifactLocation", {{"uri", rep.path}}},
                    {"region", {{"startLine", f.at.line}, {"startColumn", f.at.column}}}}}}})}});
    }
  }
  return {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
          {"version", "2.1.0"},
          {"runs", json::array({{{"tool",
                                  {{"driver",
                                    {{"name", "colshift"},
                                     {"version", "0.1.0"},
                                     {"informationUri", "https://github.com/colshift/colshift"},
                                     {"rules", rules}}}}},
                                 {"results", results}}})}};
}

void render_github(const std::vector<FileReport>& reports, std::ostream& out) {
  for (const auto& rep : reports) {
    for (const auto& f : rep.findings) {
      const char* level = f.severity == Severity::kError     ? "error"
                          : f.severity == Severity::kWarning ? "warning"
                                                             : "notice";
      out << fmt::format(
          "::{} file={},line={},col={},title={}::{}\n", level, gh_escape(rep.path, true), f.at.line,
          f.at.column, gh_escape("colshift " + f.rule, true),
          gh_escape(f.message + (f.recipe.empty() ? "" : "\nFix: " + f.recipe), false));
    }
  }
}

}  // namespace colshift::lint
