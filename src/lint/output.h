// Rendering lint results: human text, JSON, SARIF 2.1.0, GitLab code quality,
// GitHub annotations, and rule documentation (--explain, docs/lint/RULE-ID.md).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "lint/rules.h"
#include "lint/types.h"

namespace colshift::lint {

// file:line:col: severity[rule]: message, the source line with a caret under
// the statement, and the recipe. `verbose` adds every statement's facts.
void render_text(const FileReport& report, bool color, bool verbose, std::ostream& out);
// "3 files, 41 statements: 2 errors, 1 warning, 0 info" (no newline).
std::string summary_line(const std::vector<FileReport>& reports);

// The stable JSON shape documented in docs/lint/README.md, streamed to `out`
// file by file (indent 2, ending in a newline); `trace`, when given, becomes
// the "trace" member. Files are rendered on up to `jobs` threads (0: one per
// core); the output is the same for any number.
void write_json(const std::vector<FileReport>& reports, const nlohmann::json* trace,
                std::ostream& out, unsigned jobs = 1);
// The same document as a json value (for callers that inspect it).
nlohmann::json render_json(const std::vector<FileReport>& reports);

// SARIF 2.1.0 log with one run; every rule in tool.driver.rules.
nlohmann::json render_sarif(const std::vector<FileReport>& reports);

// GitLab code quality report: a JSON array of issues, each with description
// (message and recipe), check_name (the rule), fingerprint (stable across
// edits that only move the statement), severity (error: critical, warning:
// major, info: info) and location.path / location.lines.begin.
nlohmann::json render_gitlab(const std::vector<FileReport>& reports);

// GitHub Actions workflow commands (::error file=...,line=...::message).
void render_github(const std::vector<FileReport>& reports, std::ostream& out);

// --explain: plain text; docs: Markdown (docs/lint/RULE-ID.md is exactly this).
std::string explain_text(const RuleInfo& rule);
std::string explain_markdown(const RuleInfo& rule);
// The rule list as a Markdown table (docs/lint/README.md "Rules").
std::string rules_table_markdown();

}  // namespace colshift::lint
