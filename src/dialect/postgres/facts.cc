// Reading the PostgreSQL catalog for the planner, and checking a migration's
// SQL expressions against the live tables before anything changes.
#include <fmt/format.h>

#include <set>

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

std::string where_of(const SourcePos& p) {
  return fmt::format("{}:{}:{}", p.file, p.line, p.column);
}

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

// Runs `sql` (planned, never reading rows) and turns a failure into a bad-input
// error at the operation.
void check_expression(Connection& conn, const std::string& sql, const SourcePos& pos,
                      const std::string& what) {
  try {
    conn.exec("SAVEPOINT colshift_check");
    conn.exec(sql);
    conn.exec("RELEASE SAVEPOINT colshift_check");
  } catch (const DbError& e) {
    if (e.connection_lost()) throw;
    conn.exec("ROLLBACK TO SAVEPOINT colshift_check");
    throw Error(ErrorKind::kBadInput, fmt::format("{} does not fit the table: {}", what, e.what()),
                where_of(pos), "fix the expression; it is checked against the live schema");
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
        throw Error(ErrorKind::kBadInput,
                    fmt::format("'{}' is not a table (relkind {})", t.display(), kind),
                    where_of(pos),
                    "add_column and create_index work on ordinary and partitioned tables");
      }
      plan::TableFacts tf;
      std::string oid = r.text(0, 0);
      tf.schema = r.text(0, 1);
      tf.name = r.text(0, 2);
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
      f.tables[t.display()] = std::move(tf);
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
      if (auto* a = std::get_if<AddColumn>(&op); a && a->column.default_expr) {
        for (auto& fn : expression_functions(*a->column.default_expr, where_of(a->pos)))
          functions.insert(fn);
      }
    }
    for (const auto& fn : functions) {
      auto r = conn.exec("SELECT max(provolatile::text) FROM pg_proc WHERE proname = $1", {fn});
      std::string v = r.text(0, 0, "v");  // unknown function: assume the worst
      f.function_volatility[fn] = v.empty() ? 'v' : v[0];
    }

    // Check every expression against the live table, planning only.
    for (const auto& op : m.operations) {
      const auto& pos = migration::operation_pos(op);
      if (auto* a = std::get_if<AddColumn>(&op)) {
        auto it = f.tables.find(a->table.display());
        if (it == f.tables.end()) continue;
        if (it->second.column(a->column.name)) continue;  // reported by the planner
        std::string src = row_source(*this, it->second, m, a->table.display());
        check_expression(conn, fmt::format("SELECT NULL::{} LIMIT 0", a->column.type), pos,
                         fmt::format("type '{}' of column {}", a->column.type, a->column.name));
        if (a->up) {
          check_expression(
              conn, fmt::format("SELECT ({})::{} FROM {} LIMIT 0", *a->up, a->column.type, src),
              pos, "'up' of add_column");
        }
        if (a->column.default_expr) {
          check_expression(
              conn, fmt::format("SELECT ({})::{} LIMIT 0", *a->column.default_expr, a->column.type),
              pos, "'default' of add_column");
        }
        if (a->column.check) {
          check_expression(
              conn, fmt::format("SELECT ({})::boolean FROM {} LIMIT 0", *a->column.check, src), pos,
              "'check' of add_column");
        }
      } else if (auto* c = std::get_if<CreateIndex>(&op)) {
        auto it = f.tables.find(c->table.display());
        if (it == f.tables.end()) continue;
        std::string src = row_source(*this, it->second, m, c->table.display());
        std::vector<std::string> exprs;
        for (const auto& col : c->columns)
          exprs.push_back("(" + split_index_ordering(col).first + ")");
        check_expression(conn, fmt::format("SELECT {} FROM {} LIMIT 0", join(exprs, ", "), src),
                         pos, "'columns' of create_index");
        if (c->where) {
          check_expression(conn, fmt::format("SELECT 1 FROM {} WHERE ({}) LIMIT 0", src, *c->where),
                           pos, "'where' of create_index");
        }
      }
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
