#include "dialect/postgres/postgres_dialect.h"

#include <fmt/format.h>
#include <pg_query.h>

#include <nlohmann/json.hpp>

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

std::vector<std::string> expression_functions(const std::string& expr, const std::string& where) {
  std::string sql = "SELECT (" + expr + ")";
  PgQueryParseResult r = pg_query_parse(sql.c_str());
  if (r.error) {
    std::string msg = r.error->message ? r.error->message : "syntax error";
    pg_query_free_parse_result(r);
    throw Error(ErrorKind::kBadInput, fmt::format("SQL expression does not parse: {}", msg), where,
                fmt::format("the expression was: {}", expr));
  }
  std::vector<std::string> out;
  try {
    collect_functions(nlohmann::json::parse(r.parse_tree), out);
  } catch (...) {
    pg_query_free_parse_result(r);
    throw;
  }
  pg_query_free_parse_result(r);
  return out;
}

}  // namespace postgres
}  // namespace colshift
