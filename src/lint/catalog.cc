#include "lint/catalog.h"

#include "lint/type_change.h"

namespace colshift::lint {

namespace {

std::string qualified(const std::string& schema, const std::string& name) {
  return schema == "public" ? name : schema + "." + name;
}

}  // namespace

ast::TypeInfo parse_format_type(const std::string& text) {
  ast::TypeInfo t;
  std::string s = text;
  if (s.size() > 2 && s.ends_with("[]")) {
    t.array = true;
    s.resize(s.size() - 2);
  }
  size_t paren = s.find('(');
  std::string base = s.substr(0, paren);
  std::string rest = paren == std::string::npos ? "" : s.substr(paren);
  if (paren != std::string::npos) {
    size_t close = s.find(')', paren);
    std::string mods = s.substr(paren + 1, close - paren - 1);
    size_t pos = 0;
    while (pos < mods.size()) {
      size_t comma = mods.find(',', pos);
      t.mods.push_back(std::stoll(mods.substr(pos, comma - pos)));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    // "timestamp(3) without time zone": the words after the modifier.
    if (close != std::string::npos && close + 1 < s.size()) base += s.substr(close + 1);
  }
  t.name = canonical_type(base);
  return t;
}

Catalog load_catalog(Connection& conn) {
  Catalog c;
  c.loaded = true;
  c.server_version = conn.server_version();
  c.timezone = conn.exec("SHOW TimeZone").text(0, 0);
  auto cols = conn.exec(
      "SELECT n.nspname, cl.relname, a.attname, format_type(a.atttypid, a.atttypmod), "
      "a.attnotnull, "
      "cl.relkind "
      "FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid "
      "JOIN pg_namespace n ON n.oid = cl.relnamespace "
      "WHERE cl.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
      "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE "
      "'pg_toast%'");
  for (size_t i = 0; i < cols.size(); ++i) {
    std::string table = qualified(cols.text(i, 0), cols.text(i, 1));
    ColumnInfo info;
    info.type = parse_format_type(cols.text(i, 3));
    info.not_null = cols.boolean(i, 4);
    c.columns[table][cols.text(i, 2)] = info;
    c.tables.insert(table);
    if (cols.text(i, 5) == "p") c.partitioned.insert(table);
  }
  auto idx = conn.exec(
      "SELECT n.nspname, t.relname, array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) "
      "WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = "
      "k.attnum "
      "ORDER BY k.ord), ','), ic.relname "
      "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ic ON ic.oid = "
      "i.indexrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
      "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE "
      "'pg_toast%'");
  for (size_t i = 0; i < idx.size(); ++i) {
    std::vector<std::string> keys;
    std::string list = idx.text(i, 2);
    size_t pos = 0;
    while (!list.empty() && pos <= list.size()) {
      size_t comma = list.find(',', pos);
      keys.push_back(list.substr(pos, comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    c.indexes[qualified(idx.text(i, 0), idx.text(i, 1))].push_back(keys);
    c.index_tables[qualified(idx.text(i, 0), idx.text(i, 3))] =
        qualified(idx.text(i, 0), idx.text(i, 1));
  }
  return c;
}

}  // namespace colshift::lint
