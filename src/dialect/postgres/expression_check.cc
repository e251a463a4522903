// Expression checks against the live schema and their messages (see
// expression_check.h).
#include "dialect/postgres/expression_check.h"

#include <fmt/format.h>

#include <regex>

#include "dialect/dialect.h"
#include "util/error.h"
#include "util/text.h"

namespace colshift::postgres {
namespace {

// The first "double-quoted" name in a server message, or "".
std::string quoted_name(const std::string& message) {
  auto open = message.find('"');
  auto close = open == std::string::npos ? open : message.find('"', open + 1);
  return close == std::string::npos ? "" : message.substr(open + 1, close - open - 1);
}

// The nearest of the names `sql` returns (one text column) to `word`, as
// "; did you mean X?", or "" when none is close.
std::string nearest(Connection& conn, const std::string& sql, const std::string& word,
                    std::vector<std::string> candidates = {}) {
  auto r = conn.exec(sql);
  for (size_t i = 0; i < r.size(); ++i) candidates.push_back(r.text(i, 0));
  auto near = closest(word, candidates);
  return near && *near != word ? fmt::format("; did you mean {}?", *near) : "";
}

// The table's columns and those the migration adds.
std::vector<std::string> names(const ExpressionScope& s) {
  std::vector<std::string> all = s.columns;
  all.insert(all.end(), s.added.begin(), s.added.end());
  return all;
}

std::string undefined_column_hint(const ExpressionCheck& c, const ExpressionScope& s,
                                  const std::string& message) {
  if (c.field == "default") {
    return fmt::format(
        "a default is an SQL expression, not a value: write a text constant in SQL quotes inside "
        "the YAML ones, default: \"{}\"",
        postgres_dialect().quote_literal(c.sql));
  }
  // column "x" does not exist | column t.x does not exist
  static const std::regex re(R"(^column (.*) does not exist)");
  std::smatch m;
  std::string missing = std::regex_search(message, m, re) ? m[1].str() : "";
  if (missing.size() > 1 && missing.front() == '"') missing = missing.substr(1, missing.size() - 2);
  if (auto dot = missing.rfind('.'); dot != std::string::npos) missing = missing.substr(dot + 1);
  const std::vector<std::string> all = names(s);
  for (const auto& col : all) {
    if (c.quoted_name && col != missing && to_lower(col) == to_lower(missing)) {
      return fmt::format("a plain column name is matched exactly: write {}", col);
    }
    if (col != missing && to_lower(col) == missing) {
      return fmt::format("unquoted names are folded to lower case: write \"{}\" in double quotes",
                         col);
    }
  }
  std::string hint = fmt::format("columns of {}: {}", s.table, join(s.columns, ", "));
  if (!s.added.empty()) hint += "; added by this migration: " + join(s.added, ", ");
  if (auto near = closest(missing, all)) hint += fmt::format("; did you mean {}?", *near);
  return hint;
}

std::string syntax_hint(const ExpressionScope& s, const std::string& message) {
  // A column named with a reserved word (order, user, group) must be quoted.
  std::string token = quoted_name(message);
  for (const auto& col : names(s)) {
    if (!token.empty() && to_lower(col) == to_lower(token)) {
      return fmt::format("{} is a reserved word: write \"{}\" in double quotes", token, col);
    }
  }
  return kSyntaxErrorHint;
}

std::string type_hint(Connection& conn, const DbError& e) {
  std::string hint =
      "write a type PostgreSQL knows (text, integer, bigint, numeric(12,2), boolean, "
      "timestamptz, date, uuid, jsonb, ...)";
  std::string name = quoted_name(e.what());
  if (e.code() != "42704" || name.empty()) return hint;
  return hint + nearest(conn,
                        "SELECT typname::text FROM pg_type WHERE typname !~ '^_' AND typtype <> "
                        "'p' ORDER BY 1",
                        name,
                        {"text", "integer", "bigint", "smallint", "numeric", "boolean",
                         "timestamptz", "timestamp", "date", "time", "interval", "uuid", "jsonb",
                         "json", "varchar", "bytea"});
}

std::string function_hint(Connection& conn, const std::string& message) {
  // function lowr(text) does not exist | function app.f(integer) does not exist
  static const std::regex re(R"(^function (?:[^(]*\.)?([^.(]+)\()");
  std::smatch m;
  std::string hint = "check the name and the argument types (cast with ::type where they differ)";
  if (!std::regex_search(message, m, re)) return hint;
  std::string near =
      nearest(conn, "SELECT DISTINCT proname::text FROM pg_proc ORDER BY 1", m[1].str());
  return near.empty() ? hint + ", or create the function (or its extension) first" : hint + near;
}

struct Explained {
  std::string message;
  std::string hint;
};

Explained explain(Connection& conn, const ExpressionCheck& c, const ExpressionScope& s,
                  const DbError& e) {
  const std::string& code = e.code();
  const std::string message = e.what();
  Explained out{fmt::format("{} does not fit the table: {}", c.what, message),
                "fix the expression; it is checked against the live schema"};
  if (!e.hint().empty()) out.hint += " (PostgreSQL: " + e.hint() + ")";
  if (c.field == "type") {
    out.hint = type_hint(conn, e);
  } else if (code == "42703") {
    out.hint = undefined_column_hint(c, s, message);
  } else if (code == "42601") {
    out.hint = syntax_hint(s, message);
  } else if (code == "42883") {
    out.hint = function_hint(conn, message);
  } else if (code == "42804" || code == "42846") {
    static const std::regex boolean(R"(^argument of WHERE must be type boolean, not type (.*)$)");
    std::smatch m;
    if (std::regex_search(message, m, boolean)) {
      out.message = fmt::format("{} must be a boolean condition, not type {}", c.what, m[1].str());
      out.hint = fmt::format(
          "write a condition that is true for {} (a comparison, IS NOT NULL, IN (...), ...)",
          c.field == "check" ? "valid rows" : "the rows to index");
    } else if (c.field == "up" || c.field == "default") {
      out.hint = fmt::format(
          "the value must fit the column's type {}: convert it in the expression (::{}, "
          "to_char(), ...)",
          s.type, s.type);
    } else {
      out.hint = "the types in the expression do not match: convert one side explicitly (::type)";
    }
  }
  return out;
}

}  // namespace

void check_expression(Connection& conn, const migration::Migration& m, const ExpressionCheck& c,
                      const ExpressionScope& scope) {
  const std::string sql = c.prefix + c.sql + c.suffix;
  try {
    conn.exec("SAVEPOINT colshift_check");
    conn.exec(sql);
    conn.exec("RELEASE SAVEPOINT colshift_check");
  } catch (const DbError& e) {
    if (e.connection_lost()) throw;
    conn.exec("ROLLBACK TO SAVEPOINT colshift_check");
    // The server counts characters from 1; the expression is bytes
    // [prefix, prefix + sql) of the statement.
    size_t at = e.position() > 0 ? utf8_byte_offset(sql, e.position() - 1) : 0;
    size_t offset =
        at >= c.prefix.size() && at < c.prefix.size() + c.sql.size() ? at - c.prefix.size() : 0;
    auto [message, hint] = explain(conn, c, scope, e);
    throw Error(ErrorKind::kBadInput, message, migration::excerpt(m, c.pos.at(offset)), hint);
  }
}

}  // namespace colshift::postgres
