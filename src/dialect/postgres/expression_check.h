// Checking one SQL expression of a migration against the live schema
// (planned, never run), and turning the server's error into a message at the
// expression's own line:col with a hint for its error class.
#pragma once

#include <string>
#include <vector>

#include "dialect/connection.h"
#include "migration/migration.h"

namespace colshift::postgres {

// The hint for an expression that does not parse, online or offline.
inline constexpr const char* kSyntaxErrorHint =
    "the expression goes into SELECT (...) as written: check the SQL at the caret";

// What the expression is and where it sits in the statement that checks it:
// the statement is prefix + sql + suffix.
struct ExpressionCheck {
  std::string what;          // for messages: "'up' of add_column"
  std::string field;         // "type", "up", "default", "check", "columns" or "where"
  std::string sql;           // the expression as it goes into the statement
  migration::SourcePos pos;  // where it is written (a plain position when sql is not as written)
  std::string prefix;
  std::string suffix;
  bool quoted_name = false;  // sql is a plain column name colshift quoted (index columns)
};

// What hints may name.
struct ExpressionScope {
  std::string table;                 // as written in the migration
  std::vector<std::string> columns;  // the table's columns
  std::vector<std::string> added;    // columns this migration adds to it
  std::string type;                  // add_column: the new column's type
};

// Runs the check inside a savepoint of the caller's (read-only) transaction.
// On a server error throws Error(kBadInput) whose where() is the excerpt of
// `m` at the error's position inside the expression (the expression's start
// when the server names no position inside it), with a hint per error class:
// undefined column (the table's columns; how to quote a mixed-case name; for a
// default, how to write a text constant), syntax error (how to quote a
// reserved word), undefined function and type (the nearest name), datatype
// mismatch. A lost connection is rethrown as it is.
void check_expression(Connection& conn, const migration::Migration& m, const ExpressionCheck& check,
                      const ExpressionScope& scope);

}  // namespace colshift::postgres
