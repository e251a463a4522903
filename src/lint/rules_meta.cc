// Rules about the file itself: syntax errors, ignore directives, and
// colshift's own YAML migration files.
#include <fmt/format.h>

#include "lint/parse.h"
#include "lint/rule_helpers.h"

namespace colshift::lint {

namespace {

void check(RuleContext& ctx) {
  const auto& st = ctx.st();
  if (st.error.empty()) return;
  int parser = parser_pg_version() / 10000;
  std::string newer = newer_syntax(st.text);
  if (!newer.empty()) {
    ctx.report("syntax-error",
               fmt::format("{}: this statement uses {}, which colshift's parser (PostgreSQL {}) "
                           "does not know, so it is not checked.",
                           st.error, newer, parser),
               -1,
               fmt::format("Lint it by hand, or mark it `-- colshift:ignore syntax-error`; a "
                           "table it creates still counts as new."));
    return;
  }
  ctx.report("syntax-error", st.error, -1,
             fmt::format("Fix the statement at the caret. colshift parses with PostgreSQL {}'s "
                         "grammar: syntax from a newer release does not parse here. A psql "
                         "meta-command (\\i, \\set) must be on a line of its own.",
                         parser));
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
          {"psql-meta-command", Severity::kInfo,
           "A psql meta-command (\\i, \\set, \\connect) is skipped.",
           "Only psql runs backslash commands; PostgreSQL and most migration runners reject them. "
           "colshift skips the line and lints the statements around it, but not a file that "
           "\\i includes.",
           "Run the file with psql, or lint the included file too.", "\\set ON_ERROR_STOP on",
           "SELECT 1;", ""},
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
