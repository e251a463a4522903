#include "lint/plpgsql.h"

#include <pg_query.h>

#include "lint/ast.h"
#include "lint/tree_json.h"

namespace colshift::lint {
namespace {

using json = nlohmann::json;

struct Body {
  std::string language = "plpgsql";
  std::string code;
  bool is_do = false;
};

// The body and language of a DO or CREATE FUNCTION statement.
std::optional<Body> body_of(const Statement& st) {
  Body b;
  const json* opts = nullptr;
  if (st.kind == "DoStmt") {
    b.is_do = true;
    opts = ast::find(st.tree, "args");
  } else if (st.kind == "CreateFunctionStmt") {
    opts = ast::find(st.tree, "options");
  } else {
    return std::nullopt;
  }
  if (!opts || !opts->is_array()) return std::nullopt;
  for (const auto& o : *opts) {
    const json& d = ast::obj(o, "DefElem");
    std::string name = d.value("defname", "");
    const json& arg = ast::obj(d, "arg");
    if (name == "language") {
      b.language = ast::string_value(arg);
    } else if (name == "as") {
      if (arg.contains("List")) {
        const json& items = ast::arr(arg["List"], "items");
        if (items.size() == 1) b.code = ast::string_value(items[0]);  // 2 items: C function
      } else {
        b.code = ast::string_value(arg);
      }
    }
  }
  if (b.language != "plpgsql" || b.code.empty()) return std::nullopt;
  return b;
}

// Collects the SQL of every execsql, and of EXECUTE '<literal>', in a
// PL/pgSQL function tree, in source order.
void collect_sql(const json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "PLpgSQL_stmt_execsql") {
        std::string q = ast::obj(ast::obj(value, "sqlstmt"), "PLpgSQL_expr").value("query", "");
        if (!q.empty()) out.push_back(q);
        continue;
      }
      if (key == "PLpgSQL_stmt_dynexecute") {
        std::string q = ast::obj(ast::obj(value, "query"), "PLpgSQL_expr").value("query", "");
        // Only a plain literal is known statically: 'ALTER TABLE ...'.
        if (q.size() >= 2 && q.front() == '\'' && q.back() == '\'') {
          std::string lit;
          for (size_t i = 1; i + 1 < q.size(); ++i) {
            if (q[i] == '\'' && i + 2 < q.size() && q[i + 1] == '\'')
              ++i;
            else if (q[i] == '\'') {
              lit.clear();
              break;
            }  // concatenation: not a literal
            lit += q[i];
          }
          if (!lit.empty()) out.push_back(lit);
        }
        continue;
      }
      collect_sql(value, out);
    }
  } else if (node.is_array()) {
    for (const auto& v : node) collect_sql(v, out);
  }
}

}  // namespace

void expand_plpgsql(const std::string& text, const SourceText& src,
                    std::vector<Statement>& statements) {
  std::vector<Statement> result;
  result.reserve(statements.size());
  for (auto& st : statements) {
    auto body = body_of(st);
    result.push_back(std::move(st));
    if (!body) continue;
    const Statement& parent = result.back();
    int parent_index = static_cast<int>(result.size() - 1);
    size_t body_at = text.find(body->code, parent.offset);
    if (body_at == std::string::npos || body_at > parent.offset + parent.length) {
      body_at = parent.offset;
    }
    std::string wrapped = body->is_do
                              ? "CREATE FUNCTION colshift_do() RETURNS void LANGUAGE plpgsql AS "
                                "$colshift_body$" +
                                    body->code + "$colshift_body$"
                              : parent.text;
    PgQueryPlpgsqlParseResult r = pg_query_parse_plpgsql(wrapped.c_str());
    if (r.error) {
      Statement err;
      err.parent = parent_index;
      err.offset = body_at;
      err.start = src.position(body_at);
      err.text = body->code;
      err.error = std::string("PL/pgSQL: ") + r.error->message;
      err.error_at = err.start;
      pg_query_free_plpgsql_parse_result(r);
      result.push_back(std::move(err));
      continue;
    }
    json funcs = read_tree_json(r.plpgsql_funcs);
    pg_query_free_plpgsql_parse_result(r);
    std::vector<std::string> sqls;
    collect_sql(funcs, sqls);
    size_t cursor = body_at;
    for (const auto& sql : sqls) {
      size_t at = text.find(sql, cursor);
      bool found = at != std::string::npos && at < parent.offset + parent.length;
      PgQueryParseResult pr = pg_query_parse(sql.c_str());
      Statement nested;
      nested.parent = parent_index;
      nested.offset = found ? at : body_at;
      nested.length = sql.size();
      nested.start = src.position(nested.offset);
      nested.text = sql;
      if (pr.error) {
        nested.error = pr.error->message;
        nested.error_at = nested.start;
      } else {
        json tree = read_tree_json(pr.parse_tree);
        if (tree.is_object() && tree.contains("stmts") && !tree["stmts"].empty()) {
          const json& node = ast::obj(tree["stmts"][0], "stmt");
          if (node.is_object() && !node.empty()) {
            nested.kind = node.begin().key();
            nested.tree = node.begin().value();
            nested.tree_base = nested.offset;
          }
        }
      }
      pg_query_free_parse_result(pr);
      if (found) cursor = at + sql.size();
      result.push_back(std::move(nested));
    }
  }
  statements = std::move(result);
}

}  // namespace colshift::lint
