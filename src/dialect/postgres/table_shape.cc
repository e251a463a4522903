// Table shapes from the PostgreSQL catalog (dialect/table_shape.h): one
// query for every table asked for, read with search_path = pg_catalog so
// every name in a definition comes out schema-qualified, the same from any
// session.
#include <fmt/format.h>

#include "dialect/list_param.h"
#include "dialect/postgres/postgres_dialect.h"
#include "util/text.h"

namespace colshift::postgres {
namespace {

// Rows: the name asked for, and its shape as JSON (NULL: not a table).
constexpr const char* kDescribeSql = R"(
WITH wanted AS (
  SELECT s, t, ord FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(s, t, ord)
), found AS (
  SELECT w.s, w.t, w.ord, c.oid, c.relkind
  FROM wanted w
  LEFT JOIN pg_namespace n ON n.nspname = w.s
  LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.t AND c.relkind IN ('r', 'p')
)
SELECT f.s || '.' || f.t, CASE WHEN f.oid IS NULL THEN NULL ELSE jsonb_build_object(
  'kind', CASE f.relkind WHEN 'p' THEN 'partitioned table' ELSE 'table' END,
  'comment', coalesce(obj_description(f.oid, 'pg_class'), ''),
  'columns', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'name', a.attname,
      'type', format_type(a.atttypid, a.atttypmod),
      'not_null', a.attnotnull,
      'default', CASE WHEN a.attgenerated = '' THEN coalesce(pg_get_expr(d.adbin, d.adrelid), '')
                 ELSE '' END,
      'generated', CASE
          WHEN a.attidentity = 'a' THEN 'ALWAYS AS IDENTITY'
          WHEN a.attidentity = 'd' THEN 'BY DEFAULT AS IDENTITY'
          WHEN a.attgenerated = 's' THEN 'ALWAYS AS (' || pg_get_expr(d.adbin, d.adrelid) || ') STORED'
          ELSE '' END,
      'comment', coalesce(col_description(a.attrelid, a.attnum), ''))
    ORDER BY a.attnum), '[]')
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = f.oid AND a.attnum > 0 AND NOT a.attisdropped),
  'indexes', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'name', ic.relname, 'definition', pg_get_indexdef(i.indexrelid), 'valid', i.indisvalid)
    ORDER BY ic.relname::text COLLATE "C"), '[]')
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = f.oid),
  'constraints', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'name', k.conname,
      'kind', CASE k.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique'
              WHEN 'f' THEN 'foreign key' WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion'
              ELSE k.contype::text END,
      'definition', pg_get_constraintdef(k.oid), 'validated', k.convalidated)
    ORDER BY k.conname::text COLLATE "C"), '[]')
    FROM pg_constraint k WHERE k.conrelid = f.oid),
  'triggers', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'name', g.tgname, 'definition', pg_get_triggerdef(g.oid), 'enabled', g.tgenabled <> 'D')
    ORDER BY g.tgname::text COLLATE "C"), '[]')
    FROM pg_trigger g WHERE g.tgrelid = f.oid AND NOT g.tgisinternal),
  'referenced_by', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'table', rn.nspname || '.' || rc.relname, 'constraint', k.conname,
      'definition', pg_get_constraintdef(k.oid))
    ORDER BY (rn.nspname || '.' || rc.relname) COLLATE "C", k.conname::text COLLATE "C"), '[]')
    FROM pg_constraint k JOIN pg_class rc ON rc.oid = k.conrelid
    JOIN pg_namespace rn ON rn.oid = rc.relnamespace
    WHERE k.confrelid = f.oid AND k.contype = 'f')
)::text END
FROM found f ORDER BY (f.s || '.' || f.t) COLLATE "C", f.ord
)";

// Runs `body` in a read-only transaction with search_path = pg_catalog.
template <typename F>
auto qualified_read(Connection& conn, F&& body) {
  conn.exec("BEGIN READ ONLY");
  try {
    conn.exec("SET LOCAL search_path TO pg_catalog, pg_temp");
    auto r = body();
    conn.exec("COMMIT");
    return r;
  } catch (...) {
    try {
      conn.exec("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
}

// "schema.name" into its parts (at the first dot; no dot: public).
std::pair<std::string, std::string> split_name(const std::string& name) {
  auto dot = name.find('.');
  if (dot == std::string::npos) return {"public", name};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

}  // namespace

SchemaSnapshot PostgresDialect::describe_tables(Connection& conn,
                                                const std::vector<std::string>& tables) const {
  SchemaSnapshot snap;
  snap.recorded = true;
  if (tables.empty()) return snap;
  std::vector<std::string> schemas;
  std::vector<std::string> names;
  for (const auto& t : tables) {
    auto [s, n] = split_name(t);
    schemas.push_back(s);
    names.push_back(n);
  }
  auto r = qualified_read(conn, [&] {
    return conn.exec(kDescribeSql, {text_list_param(schemas), text_list_param(names)});
  });
  for (size_t i = 0; i < r.size(); ++i) {
    std::string name = r.text(i, 0);
    if (!r.at(i, 1)) {
      if (snap.absent.empty() || snap.absent.back() != name) snap.absent.push_back(name);
      continue;
    }
    if (!snap.tables.empty() && snap.tables.back().name == name) continue;  // asked twice
    auto shape = shape_from_json(nlohmann::json::parse(r.text(i, 1)));
    shape.name = name;
    snap.tables.push_back(std::move(shape));
  }
  return snap;
}

std::vector<std::string> PostgresDialect::list_tables(
    Connection& conn, const std::vector<std::string>& exclude_schemas) const {
  // Partitions follow their parent's shape and extension tables are the
  // extension's: neither gets a page.
  auto r = conn.exec(
      "SELECT n.nspname || '.' || c.relname FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
      "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
      "AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%' "
      "AND n.nspname <> ALL ($1::text[]) "
      "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
      "AND d.objid = c.oid AND d.deptype = 'e') "
      "ORDER BY (n.nspname || '.' || c.relname) COLLATE \"C\"",
      {text_list_param(exclude_schemas)});
  std::vector<std::string> out;
  for (size_t i = 0; i < r.size(); ++i) out.push_back(r.text(i, 0));
  return out;
}

}  // namespace colshift::postgres
