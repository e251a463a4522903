// What the planner knows about the database: gathered once by the dialect
// (Dialect::gather_facts), then the planner works from this value alone.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace colshift::plan {

struct ColumnFacts {
  std::string name;
  std::string type;  // format_type() text, e.g. "character varying(20)"
  bool not_null = false;
};

struct TableFacts {
  std::string schema;  // resolved schema
  std::string name;
  std::vector<ColumnFacts> columns;
  std::vector<std::string> primary_key;  // in key order; empty when none
  std::vector<std::string> primary_key_types;
  long long row_estimate = -1;  // -1: unknown
  long long total_bytes = -1;
  bool partitioned = false;  // a partitioned parent (PostgreSQL relkind 'p')
  const ColumnFacts* column(const std::string& n) const {
    for (const auto& c : columns)
      if (c.name == n) return &c;
    return nullptr;
  }
};

struct CatalogFacts {
  bool offline = true;  // no database: estimates unknown, PG version assumed
  int server_version = 150000;
  std::string default_schema = "public";
  // Keyed by the table name as written in the migration (TableName::display()).
  std::map<std::string, TableFacts> tables;
  // Tables named in the migration that do not exist.
  std::set<std::string> missing_tables;
  // Index names (schema-qualified "schema.name") that exist already.
  std::set<std::string> existing_indexes;
  // Volatility ('i', 's', 'v') of functions named in default expressions;
  // the most volatile overload wins. Offline: from the dialect's table of
  // built-in functions, any other function 'v'.
  std::map<std::string, char> function_volatility;
  // What the dialect assumed rather than read, in the user's words; the plan
  // shows them as notes.
  std::vector<std::string> notes;
};

}  // namespace colshift::plan
