// Reading the PostgreSQL catalog for the planner, and checking a migration's
// SQL expressions against the live tables before anything changes.
#include <fmt/format.h>

#include <set>

#include "dialect/postgres/expression_check.h"
#include "dialect/postgres/postgres_dialect.h"
#include "dialect/postgres/raw_sql_facts.h"
#include "util/error.h"
#include "util/text.h"

namespace colshift::postgres {
namespace {

using migration::AddColumn;
using migration::CreateIndex;
using migration::Migration;
using migration::SourcePos;
using migration::TableName;

// Tables named by the migration's operations, with the position that names them first.
std::vector<std::pair<TableName, SourcePos>> named_tables(const Migration& m) {
  std::vector<std::pair<TableName, SourcePos>> out;
  std::set<std::string> seen;
  for (const auto& op : m.operations) {
    const TableName* t = nullptr;
    if (auto* a = std::get_if<AddColumn>(&op)) t = &a->table;
    if (auto* c = std::get_if<CreateIndex>(&op)) t = &c->table;
    if (t && seen.insert(t->display()).second) out.emplace_back(*t, migration::operation_pos(op));
  }
  return out;
}

// --- raw_sql (raw_sql_facts.h) ---
// Adds the relations that only raw_sql names to `tables`, and returns them:
// their sizes decide raw_sql's hazards. Those that turn out to be indexes,
// views or sequences are skipped, not refused.
std::set<std::string> raw_sql_only_names(const Migration& m,
                                         std::vector<std::pair<TableName, SourcePos>>& tables) {
  std::set<std::string> seen, raw_only;
  for (const auto& [t, pos] : tables) seen.insert(t.display());
  for (const auto& op : m.operations) {
    const auto* raw = std::get_if<migration::RawSql>(&op);
    if (!raw) continue;
    for (const auto& name : raw_sql_relations(raw->up)) {
      if (!seen.insert(name).second) continue;
      auto dot = name.find('.');
      TableName t{dot == std::string::npos ? "" : name.substr(0, dot),
                  dot == std::string::npos ? name : name.substr(dot + 1)};
      tables.emplace_back(t, raw->pos);
      raw_only.insert(name);
    }
  }
  return raw_only;
}
// --- end raw_sql ---

// A FROM item exposing the table's columns plus the columns this migration
// adds (as typed NULLs), aliased as the table so qualified references work.
std::string row_source(const PostgresDialect& d, const plan::TableFacts& t, const Migration& m,
                       const std::string& written) {
  std::string extra;
  for (const auto& op : m.operations) {
    if (auto* a = std::get_if<AddColumn>(&op); a && a->table.display() == written) {
      extra += fmt::format(", NULL::{} AS {}", a->column.type, d.quote_ident(a->column.name));
    }
  }
  return fmt::format("(SELECT colshift_t.*{} FROM {} AS colshift_t) AS {}", extra,
                     d.qualified(t.schema, t.name), d.quote_ident(t.name));
}

// The names an expression over table `written` may use, for hints.
ExpressionScope scope_of(const plan::TableFacts& t, const Migration& m,
                         const std::string& written) {
  ExpressionScope s;
  s.table = written;
  for (const auto& c : t.columns) s.columns.push_back(c.name);
  for (const auto& op : m.operations) {
    if (auto* a = std::get_if<AddColumn>(&op); a && a->table.display() == written)
      s.added.push_back(a->column.name);
  }
  return s;
}

// A condition over the row (`check`, `where`): a WHERE demands a boolean as
// CHECK does, where a cast would accept an integer.
ExpressionCheck condition(std::string what, std::string field, const std::string& expr,
                          const SourcePos& pos, const std::string& src) {
  return {
      std::move(what), std::move(field), expr, pos, fmt::format("SELECT 1 FROM {} WHERE (", src),
      ") LIMIT 0"};
}

void check_add_column(const PostgresDialect& d, Connection& conn, const Migration& m,
                      const AddColumn& a, const plan::TableFacts& t) {
  const auto& col = a.column;
  ExpressionScope scope = scope_of(t, m, a.table.display());
  scope.type = col.type;
  const std::string src = row_source(d, t, m, a.table.display());
  check_expression(conn, m,
                   {fmt::format("type '{}' of column {}", col.type, col.name), "type", col.type,
                    col.type_pos, "SELECT NULL::", " LIMIT 0"},
                   scope);
  if (a.up) {
    check_expression(conn, m,
                     {"'up' of add_column", "up", *a.up, a.up_pos, "SELECT (",
                      fmt::format(")::{} FROM {} LIMIT 0", col.type, src)},
                     scope);
  }
  if (col.default_expr) {
    check_expression(conn, m,
                     {"'default' of add_column", "default", *col.default_expr, col.default_pos,
                      "SELECT (", fmt::format(")::{} LIMIT 0", col.type)},
                     scope);
  }
  if (col.check) {
    check_expression(conn, m,
                     condition("'check' of add_column", "check", *col.check, col.check_pos, src),
                     scope);
  }
}

void check_create_index(const PostgresDialect& d, Connection& conn, const Migration& m,
                        const CreateIndex& c, const plan::TableFacts& t) {
  const ExpressionScope scope = scope_of(t, m, c.table.display());
  const std::string src = row_source(d, t, m, c.table.display());
  for (size_t i = 0; i < c.columns.size(); ++i) {
    // Exactly what the planner puts into CREATE INDEX (a plain name quoted).
    std::string expr = split_index_ordering(c.columns[i]).first;
    ExpressionCheck check{
        "'columns' of create_index",          "columns", expr, c.column_pos[i], "SELECT (",
        fmt::format(") FROM {} LIMIT 0", src)};
    if (PostgresDialect::is_plain_name(expr)) {
      check.sql = d.index_item(expr);
      check.prefix = "SELECT ";
      check.suffix = fmt::format(" FROM {} LIMIT 0", src);
      check.pos = c.column_pos[i].at(0);  // the quoted name is not as written
      check.quoted_name = true;
    }
    check_expression(conn, m, check, scope);
  }
  if (c.where) {
    check_expression(
        conn, m, condition("'where' of create_index", "where", *c.where, c.where_pos, src), scope);
  }
}

}  // namespace

plan::CatalogFacts PostgresDialect::offline_facts(const Migration& m) const {
  plan::CatalogFacts f;
  f.offline = true;
  auto tables = named_tables(m);
  raw_sql_only_names(m, tables);
  for (const auto& [t, pos] : tables) {
    plan::TableFacts tf;
    tf.schema = t.schema.empty() ? f.default_schema : t.schema;
    tf.name = t.name;
    tf.primary_key = {"id"};
    tf.primary_key_types = {"bigint"};
    f.tables[t.display()] = tf;
  }
  // Volatility from the table of PostgreSQL's own functions; any other counts
  // as volatile (the safe path: computed per row), and the plan says so.
  for (const auto& op : m.operations) {
    auto* a = std::get_if<AddColumn>(&op);
    if (!a) continue;
    for (const auto& fn : a->column.default_expr ? expression_functions(*a->column.default_expr, m,
                                                                        a->column.default_pos)
                                                 : std::vector<std::string>{}) {
      if (f.function_volatility.count(fn)) continue;
      auto known = builtin_volatility(fn);
      f.function_volatility[fn] = known.value_or('v');
      if (!known) {
        f.notes.push_back(fmt::format(
            "the volatility of {}() is unknown without a database: assumed volatile, so the "
            "default is computed per row like 'up'; plan with --db to read it from the server",
            fn));
      }
    }
    // `up`'s volatility only changes how the trigger treats an UPDATE: the
    // functions the table knows are enough offline.
    if (a->up) {
      for (const auto& fn : expression_functions(*a->up, m, a->up_pos)) {
        if (auto known = builtin_volatility(fn); known && !f.function_volatility.count(fn))
          f.function_volatility[fn] = *known;
      }
    }
  }
  return f;
}

plan::CatalogFacts PostgresDialect::gather_facts(Connection& conn, const Migration& m) const {
  plan::CatalogFacts f;
  f.offline = false;
  f.server_version = conn.server_version();
  // Read-only and rolled back: nothing here may change the database.
  conn.exec("BEGIN READ ONLY");
  try {
    f.default_schema = conn.exec("SELECT current_schema()").text(0, 0, "public");
    auto tables = named_tables(m);
    const auto raw_only = raw_sql_only_names(m, tables);
    for (const auto& [t, pos] : tables) {
      std::string regname = t.schema.empty() ? quote_ident(t.name) : qualified(t.schema, t.name);
      auto r = conn.exec(
          "SELECT c.oid, n.nspname, c.relname, c.relkind, "
          "       GREATEST(c.reltuples, 0)::bigint AS reltuples, c.reltuples < 0 AS "
          "never_analyzed, "
          "       pg_total_relation_size(c.oid) "
          "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE c.oid = to_regclass($1)",
          {regname});
      if (r.empty()) {
        f.missing_tables.insert(t.display());
        continue;
      }
      std::string kind = r.text(0, 3);
      if (raw_only.count(t.display()) && kind != "r" && kind != "p") continue;  // raw_sql
      if (kind != "r" && kind != "p") {
        throw Error(
            ErrorKind::kBadInput,
            fmt::format("'{}' is not a table (relkind {})", t.display(), kind), pos.location(),
            "add_column works on ordinary and partitioned tables, create_index on ordinary ones");
      }
      plan::TableFacts tf;
      std::string oid = r.text(0, 0);
      tf.schema = r.text(0, 1);
      tf.name = r.text(0, 2);
      tf.partitioned = kind == "p";
      tf.row_estimate = r.integer(0, 4);
      tf.total_bytes = r.integer(0, 6);
      if (r.boolean(0, 5) || tf.row_estimate == 0) {
        // Never analyzed: an estimate from the live-tuple counter, else unknown.
        auto s =
            conn.exec("SELECT n_live_tup FROM pg_stat_user_tables WHERE relid = $1::oid", {oid});
        tf.row_estimate = s.empty() ? -1 : s.integer(0, 0, -1);
        if (tf.row_estimate == 0 && tf.total_bytes > 64 * 1024) tf.row_estimate = -1;
      }
      auto cols = conn.exec(
          "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
          "WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
          {oid});
      for (size_t i = 0; i < cols.size(); ++i) {
        tf.columns.push_back({cols.text(i, 0), cols.text(i, 1), cols.boolean(i, 2)});
      }
      auto pk = conn.exec(
          "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
          "FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
          "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
          "WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.ord",
          {oid});
      for (size_t i = 0; i < pk.size(); ++i) {
        tf.primary_key.push_back(pk.text(i, 0));
        tf.primary_key_types.push_back(pk.text(i, 1));
      }
      std::vector<std::string> changed;
      for (const auto& op : m.operations) {
        if (auto* a = std::get_if<AddColumn>(&op)) {
          if (a->table.display() == t.display()) changed.push_back(a->column.name);
        }
      }
      auto pubs = read_publications(conn, oid, tf);
      f.impact.push_back(read_impact(conn, oid, tf, changed, pubs));
      f.publications.insert(f.publications.end(), pubs.begin(), pubs.end());
      f.tables[t.display()] = std::move(tf);
    }

    // Check every expression against the live table, planning only; first, so
    // that an expression that does not parse is reported at its position.
    for (const auto& op : m.operations) {
      if (auto* a = std::get_if<AddColumn>(&op)) {
        auto it = f.tables.find(a->table.display());
        if (it == f.tables.end()) continue;
        if (it->second.column(a->column.name)) continue;  // reported by the planner
        check_add_column(*this, conn, m, *a, it->second);
      } else if (auto* c = std::get_if<CreateIndex>(&op)) {
        auto it = f.tables.find(c->table.display());
        if (it != f.tables.end()) check_create_index(*this, conn, m, *c, it->second);
      }
    }

    std::set<std::string> functions;
    for (const auto& op : m.operations) {
      if (auto* c = std::get_if<CreateIndex>(&op)) {
        auto it = f.tables.find(c->table.display());
        if (it == f.tables.end()) continue;
        // An INVALID index left by a failed CREATE INDEX CONCURRENTLY does not
        // count: the runner drops and rebuilds it.
        auto r = conn.exec(
            "SELECT to_regclass($1) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_index "
            "WHERE indexrelid = to_regclass($1) AND NOT indisvalid)",
            {qualified(it->second.schema, c->name)});
        if (r.boolean(0, 0)) f.existing_indexes.insert(it->second.schema + "." + c->name);
      }
      if (auto* a = std::get_if<AddColumn>(&op)) {
        // Volatility decides how the trigger treats an UPDATE: a volatile
        // `up` or default is computed once per row, never again.
        if (a->column.default_expr) {
          for (auto& fn : expression_functions(*a->column.default_expr, m, a->column.default_pos))
            functions.insert(fn);
        }
        if (a->up) {
          for (auto& fn : expression_functions(*a->up, m, a->up_pos)) functions.insert(fn);
        }
      }
    }
    for (const auto& fn : functions) {
      auto r = conn.exec("SELECT max(provolatile::text) FROM pg_proc WHERE proname = $1", {fn});
      std::string v = r.text(0, 0, "v");  // unknown function: assume the worst
      f.function_volatility[fn] = v.empty() ? 'v' : v[0];
    }
  } catch (...) {
    try {
      conn.exec("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
  conn.exec("ROLLBACK");
  return f;
}

}  // namespace colshift::postgres
