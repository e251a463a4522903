#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "lint/output.h"
#include "lint/source.h"

namespace colshift::lint {

namespace {

const char* color_of(Severity s) {
  switch (s) {
    case Severity::kError:
      return "\033[1;31m";
    case Severity::kWarning:
      return "\033[1;33m";
    case Severity::kInfo:
      return "\033[1;36m";
  }
  return "";
}

// The source line at `at`, and a caret under it running to the end of the
// statement's part of that line.
void caret(const SourceText& src, const Position& at, size_t statement_end, std::ostream& out) {
  std::string_view line = src.line_text(at.line);
  std::string number = std::to_string(at.line);
  std::string pad(number.size(), ' ');
  out << " " << number << " | " << line << "\n";
  size_t col = static_cast<size_t>(std::max(at.column, 1) - 1);
  size_t len = 1;
  if (statement_end > at.offset) {
    len = std::max<size_t>(
        1, std::min(statement_end - at.offset, line.size() > col ? line.size() - col : 1));
  }
  std::string marks(col, ' ');
  for (size_t i = 0; i < col && i < line.size(); ++i) {
    if (line[i] == '\t') marks[i] = '\t';
  }
  out << " " << pad << " | " << marks << "^" << std::string(len - 1, '~') << "\n";
}

std::string facts_text(const StatementFacts& facts) {
  std::string out;
  for (const auto& r : facts.relations) {
    if (r.lock == LockMode::kNone) continue;
    Blocks b = blocks_of(r.lock);
    std::string blocks;
    if (r.created_here) {
      blocks = "created in this file";
    } else {
      if (b.reads) blocks += "reads";
      if (b.writes) blocks += std::string(blocks.empty() ? "" : ", ") + "writes";
      if (b.ddl) blocks += std::string(blocks.empty() ? "" : ", ") + "DDL";
      blocks = blocks.empty() ? "blocks nothing" : "blocks " + blocks;
    }
    out += fmt::format("      {} on {} ({}){}{}{}\n", lock_name(r.lock), r.relation, blocks,
                       r.rewrite ? "; rewrites" : "", r.scan ? "; scans" : "",
                       r.note.empty() ? "" : "; " + r.note);
  }
  return out;
}

}  // namespace

void render_text(const FileReport& report, bool color, bool verbose, std::ostream& out) {
  SourceText src(report.text);
  const char* bold = color ? "\033[1m" : "";
  const char* reset = color ? "\033[0m" : "";
  if (verbose) {
    for (size_t i = 0; i < report.statements.size(); ++i) {
      const auto& st = report.statements[i];
      out << fmt::format("{}{}:{}:{}{}: {}\n", bold, report.path, st.start.line, st.start.column,
                         reset, st.kind.empty() ? "(unparsed)" : st.kind);
      if (i < report.facts.size()) out << facts_text(report.facts[i]);
    }
  }
  std::set<int> facts_shown;
  for (const auto& f : report.findings) {
    out << fmt::format("{}{}:{}:{}:{} {}{}[{}]{}: {}\n", bold, report.path, f.at.line, f.at.column,
                       reset, color ? color_of(f.severity) : "", severity_name(f.severity), f.rule,
                       reset, f.message);
    size_t end = f.at.offset + 1;
    if (f.statement >= 0 && static_cast<size_t>(f.statement) < report.statements.size()) {
      const auto& st = report.statements[static_cast<size_t>(f.statement)];
      Position at = f.rule == "syntax-error" ? st.error_at : f.at;
      end = at.offset == st.offset ? st.offset + st.length : at.offset + 1;
      caret(src, at, end, out);
      if (static_cast<size_t>(f.statement) < report.facts.size()) {
        std::string facts = facts_text(report.facts[static_cast<size_t>(f.statement)]);
        if (!facts.empty() && f.rule != "syntax-error" && facts_shown.insert(f.statement).second) {
          out << "  = facts:\n" << facts;
        }
      }
    } else {
      caret(src, f.at, end, out);
    }
    if (!f.recipe.empty()) out << "  = fix: " << f.recipe << "\n";
    out << "\n";
  }
}

std::string summary_line(const std::vector<FileReport>& reports) {
  size_t statements = 0, errors = 0, warnings = 0, infos = 0;
  for (const auto& r : reports) {
    statements += r.statements.size();
    for (const auto& f : r.findings) {
      if (f.severity == Severity::kError) ++errors;
      if (f.severity == Severity::kWarning) ++warnings;
      if (f.severity == Severity::kInfo) ++infos;
    }
  }
  return fmt::format("{} file{}, {} statement{}: {} error{}, {} warning{}, {} info", reports.size(),
                     reports.size() == 1 ? "" : "s", statements, statements == 1 ? "" : "s", errors,
                     errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s", infos);
}

std::string explain_text(const RuleInfo& r) {
  std::string out = fmt::format("{} ({})\n\n{}\n\nWhy: {}\n\nSafe recipe: {}\n\nTriggers:\n", r.id,
                                severity_name(r.severity), r.summary, r.why, r.recipe);
  auto indent = [](const std::string& sql) {
    std::string o = "    ";
    for (char c : sql) o += c == '\n' ? std::string("\n    ") : std::string(1, c);
    return o + "\n";
  };
  out += indent(r.bad) + "\nDoes not trigger:\n" + indent(r.good);
  if (*r.covers) out += fmt::format("\nSame check elsewhere: {}\n", r.covers);
  out += fmt::format("\nSilence once with: -- colshift:ignore {}\n", r.id);
  return out;
}

std::string explain_markdown(const RuleInfo& r) {
  std::string out = fmt::format(
      "# {}\n\nDefault severity: **{}**\n\n{}\n\n## Why\n\n{}\n\n## Safe recipe\n\n{}\n\n"
      "## Example\n\nTriggers the rule:\n\n```sql\n{}\n```\n\nDoes not:\n\n```sql\n{}\n```\n",
      r.id, severity_name(r.severity), r.summary, r.why, r.recipe, r.bad, r.good);
  if (*r.covers) out += fmt::format("\n## Same check in other linters\n\n{}\n", r.covers);
  out += fmt::format(
      "\n## Silencing\n\n`-- colshift:ignore {}` before the statement, or "
      "`lint: {{rules: {{{}: off}}}}` in `.colshift.yaml`.\n",
      r.id, r.id);
  return out;
}

std::string rules_table_markdown() {
  std::string out = "| rule | severity | danger |\n| --- | --- | --- |\n";
  for (const auto* fam : rule_families()) {
    for (const auto& r : fam->rules) {
      out += fmt::format("| [{}]({}.md) | {} | {} |\n", r.id, r.id, severity_name(r.severity),
                         r.summary);
    }
  }
  return out;
}

}  // namespace colshift::lint
