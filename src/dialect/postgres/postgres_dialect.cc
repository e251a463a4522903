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

void prepare_session(Connection& conn, const Dialect& dialect, std::string_view application_name) {
  // Through a pooler (PgBouncer) the backend that answers is not the one the
  // client connected to: session settings and advisory locks would not hold,
  // and in transaction mode the settings below would reach the next app
  // client on that server connection. Refuse before setting anything.
  long long real_pid = conn.exec(dialect.backend_pid_sql()).integer(0, 0);
  if (real_pid != conn.backend_pid()) {
    throw Error(
        ErrorKind::kConflict,
        fmt::format("this connection goes through a connection pooler (client sees backend {}, "
                    "server answers from {}): colshift's session lock and settings would not hold",
                    conn.backend_pid(), real_pid),
        {}, "connect colshift directly to the primary (bypass PgBouncer) with --db");
  }
  std::string script;
  for (const auto& s : dialect.session_setup(conn.server_version(), application_name))
    script += s + ";\n";
  conn.exec_script(script);
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

std::string PostgresDialect::object_name(const std::string& kind,
                                         const std::vector<std::string>& parts) {
  // Length-prefixed parts: no two different part lists hash the same text.
  std::string exact = kind;
  for (const auto& p : parts) exact += fmt::format("|{}:{}", p.size(), p);
  const std::string hash = migration::sha256_hex(exact).substr(0, 8);
  std::string readable = "colshift_" + kind;
  for (const auto& p : parts) readable += "_" + p;
  constexpr size_t kMax = 63 - 9;  // room for "_" + 8 hex digits
  if (readable.size() > kMax) {
    readable.resize(kMax);
    // Never cut a UTF-8 sequence in half.
    while (!readable.empty() && (static_cast<unsigned char>(readable.back()) & 0xC0) == 0x80)
      readable.pop_back();
    if (!readable.empty() && static_cast<unsigned char>(readable.back()) >= 0xC0)
      readable.pop_back();
  }
  return readable + "_" + hash;
}

std::string PostgresDialect::dollar_tag(const std::string& body) {
  std::string tag = "$colshift$";
  for (int i = 1; body.find(tag) != std::string::npos; ++i) tag = fmt::format("$colshift_{}$", i);
  return tag;
}

std::vector<std::string> PostgresDialect::session_setup(int server_version,
                                                        std::string_view application_name) const {
  std::vector<std::string> out = {
      "SET application_name = " + quote_literal(application_name), "SET statement_timeout = 0",
      "SET idle_in_transaction_session_timeout = 0", "SET lock_timeout = 0"};
  if (server_version >= 140000) {
    out.push_back("SET idle_session_timeout = 0");
    // The server ends a statement (a CREATE INDEX CONCURRENTLY, a backfill
    // batch) within a second of colshift's process dying, instead of running
    // on as an orphan.
    out.push_back("SET client_connection_check_interval = '1s'");
  }
  return out;
}

std::string PostgresDialect::busy_sessions_sql() const {
  return "SELECT pid, application_name, state, extract(epoch FROM clock_timestamp() - "
         "coalesce(state_change, query_start))::int, left(regexp_replace(query, '\\s+', ' ', "
         "'g'), 80) FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
         "pg_backend_pid() AND application_name = ANY($1::text[]) AND state <> 'idle'";
}

std::string PostgresDialect::backend_pid_sql() const { return "SELECT pg_backend_pid()"; }

std::string PostgresDialect::end_session_sql() const { return "SELECT pg_terminate_backend($1)"; }

std::string PostgresDialect::blocking_sessions_sql() const {
  return "SELECT a.pid, coalesce(a.state, ''), extract(epoch FROM clock_timestamp() - "
         "coalesce(a.xact_start, a.query_start))::int, left(regexp_replace(a.query, '\\s+', ' ', "
         "'g'), 60) FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids($1::int)) "
         "ORDER BY a.pid LIMIT 5";
}

std::string PostgresDialect::index_builders_sql() const {
  return "SELECT pid FROM pg_stat_progress_create_index WHERE index_relid = to_regclass($1)";
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
