#include "dialect/postgres/postgres_dialect.h"

#include <fmt/format.h>
#include <pg_query.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "dialect/postgres/expression_check.h"
#include "migration/migration.h"
#include "util/error.h"
#include "util/text.h"

namespace colshift {

const Dialect& postgres_dialect() {
  static const postgres::PostgresDialect dialect;
  return dialect;
}

namespace postgres {

std::string PostgresDialect::quote_ident(std::string_view ident) const {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string PostgresDialect::quote_literal(std::string_view text) const {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string PostgresDialect::object_name(const std::vector<std::string>& parts) {
  std::string name = "colshift";
  for (const auto& p : parts) name += "_" + p;
  if (name.size() <= 63) return name;
  std::string hash = migration::sha256_hex(name).substr(0, 8);
  return name.substr(0, 63 - 9) + "_" + hash;
}

std::string PostgresDialect::key_tuple(const std::vector<std::string>& cols) const {
  std::vector<std::string> q;
  for (const auto& c : cols) q.push_back(quote_ident(c));
  return "(" + join(q, ", ") + ")";
}

std::vector<plan::Step> PostgresDialect::plan_operation(const migration::Operation& op,
                                                        const PlanContext& ctx) const {
  if (auto* a = std::get_if<migration::AddColumn>(&op)) return plan_add_column(*a, ctx);
  if (auto* c = std::get_if<migration::CreateIndex>(&op)) return plan_create_index(*c, ctx);
  return plan_raw_sql(std::get<migration::RawSql>(op), ctx);
}

namespace {

void collect_functions(const nlohmann::json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    auto it = node.find("FuncCall");
    if (it != node.end() && it->contains("funcname")) {
      const auto& parts = (*it)["funcname"];
      if (!parts.empty()) {
        const auto& last = parts.back();
        if (last.contains("String")) out.push_back(to_lower(last["String"].value("sval", "")));
      }
    }
    for (const auto& [k, v] : node.items()) collect_functions(v, out);
  } else if (node.is_array()) {
    for (const auto& v : node) collect_functions(v, out);
  }
}

}  // namespace

namespace {

// The functions `expr` calls; on a parse error, `error` gets the parser's
// message and `error_offset` the byte offset in `expr` it points at.
std::vector<std::string> parse_functions(const std::string& expr, std::string& error,
                                         size_t& error_offset) {
  const std::string prefix = "SELECT (";
  std::string sql = prefix + expr + ")";
  PgQueryParseResult r = pg_query_parse(sql.c_str());
  std::vector<std::string> out;
  if (r.error) {
    error = r.error->message ? r.error->message : "syntax error";
    size_t at = r.error->cursorpos > 0 ? utf8_byte_offset(sql, r.error->cursorpos - 1) : 0;
    error_offset = at >= prefix.size() ? std::min(at - prefix.size(), expr.size()) : 0;
    pg_query_free_parse_result(r);
    return out;
  }
  try {
    collect_functions(nlohmann::json::parse(r.parse_tree), out);
  } catch (...) {
    pg_query_free_parse_result(r);
    throw;
  }
  pg_query_free_parse_result(r);
  return out;
}

[[noreturn]] void throw_unparsed(const std::string& error, std::string where, std::string hint) {
  throw Error(ErrorKind::kBadInput, fmt::format("SQL expression does not parse: {}", error),
              std::move(where), std::move(hint));
}

}  // namespace

std::vector<std::string> expression_functions(const std::string& expr, const std::string& where) {
  std::string error;
  size_t offset = 0;
  auto out = parse_functions(expr, error, offset);
  if (!error.empty()) throw_unparsed(error, where, fmt::format("the expression was: {}", expr));
  return out;
}

std::vector<std::string> expression_functions(const std::string& expr,
                                              const migration::Migration& m,
                                              const migration::SourcePos& pos) {
  std::string error;
  size_t offset = 0;
  auto out = parse_functions(expr, error, offset);
  if (!error.empty()) {
    throw_unparsed(error, migration::excerpt(m, pos.at(offset)), kSyntaxErrorHint);
  }
  return out;
}

}  // namespace postgres
}  // namespace colshift
