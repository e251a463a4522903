// Splitting and parsing SQL with PostgreSQL's own parser (libpg_query).
//
// parse_sql never throws on bad SQL: a statement that does not parse is kept
// with `error` and `error_at` set, and the statements around it still parse.
// Bodies of DO blocks and LANGUAGE plpgsql functions are parsed with the
// PL/pgSQL parser; each SQL statement inside (including EXECUTE of a string
// literal) becomes a Statement of its own with `parent` set.
#pragma once

#include <string>
#include <vector>

#include "lint/types.h"

namespace colshift::lint {

// A psql meta-command line (\i, \set, \connect, ...). PostgreSQL cannot run
// it; psql does. parse_sql blanks it out so it neither breaks nor joins the
// statement after it.
struct MetaCommand {
  Position at;
  std::string text;  // the line from the backslash, without the newline
};

struct ParsedSql {
  std::vector<Statement> statements;
  bool ignore_file = false;  // a "-- colshift:ignore-file" comment was seen
  // "-- colshift:ignore" directives followed by no statement.
  std::vector<Position> dangling_ignores;
  std::vector<MetaCommand> meta_commands;
};

ParsedSql parse_sql(const std::string& text);

// The PostgreSQL version whose grammar parse_sql knows (libpg_query's), e.g. 150000.
int parser_pg_version();

// When `statement` (which did not parse) uses a form newer than the parser
// knows: "PostgreSQL 17 syntax (SET EXPRESSION)"; "" otherwise.
std::string newer_syntax(const std::string& statement);

// The rule ids of a "colshift:ignore a, b" comment body; nullopt when the
// comment is not an ignore directive. "colshift:ignore-file" yields {"*file*"}.
std::optional<std::vector<std::string>> parse_ignore_directive(const std::string& comment);

}  // namespace colshift::lint
