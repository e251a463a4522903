// Rules about the file itself: syntax errors, ignore directives, and
// colshift's own YAML migration files.
#include <fmt/format.h>

#include "lint/rule_helpers.h"

namespace colshift::lint {

namespace {

void check(RuleContext& ctx) {
  const auto& st = ctx.st();
  if (!st.error.empty()) {
    ctx.report("syntax-error", st.error);
  }
}

}  // namespace

const RuleFamily& meta_rules() {
  static const RuleFamily family{
      "meta",
      {
          {"syntax-error", Severity::kError, "The SQL does not parse.",
           "colshift parses SQL with PostgreSQL's own parser (libpg_query, PostgreSQL 15 grammar). "
           "A statement "
           "that does not parse will fail on the server too; the rest of the file is still linted.",
           "Fix the statement at the caret.", "ALTER TABLE users ADD COLUMN;",
           "ALTER TABLE users ADD COLUMN note text;", ""},
          {"unknown-rule-in-ignore", Severity::kWarning,
           "A colshift:ignore comment names a rule that does not exist.",
           "A misspelt rule id silences nothing, so the finding it was meant to silence still "
           "fires, or an "
           "old id hides that the rule was renamed.",
           "Use an id from `colshift lint --explain all`.",
           "-- colshift:ignore no-such-rule\nDROP TABLE t;",
           "-- colshift:ignore drop-table\nDROP TABLE t;", ""},
          {"invalid-migration-file", Severity::kError, "The colshift migration file is not valid.",
           "colshift would refuse to plan or run it; the loader's message names what is wrong.",
           "Fix the file as the message says.", "operations:\n  - add_column: {table: users}",
           "purpose: ...\noperations:\n  - add_column: {table: users, column: {name: note, type: "
           "text}}",
           ""},
          {"add-column-not-null-without-up", Severity::kError,
           "A colshift add_column with nullable: false has neither default nor up.",
           "Existing rows would stay NULL, so the final SET NOT NULL (via the validated CHECK) "
           "fails at "
           "`complete` on any table with rows.",
           "Give `up` (an expression over the row that fills existing rows) or `default`.",
           "- add_column:\n    table: users\n    column: {name: plan, type: text, nullable: false}",
           "- add_column:\n    table: users\n    column: {name: plan, type: text, nullable: "
           "false}\n    up: \"'free'\"",
           ""},
      },
      check};
  return family;
}

}  // namespace colshift::lint
