// The volatility of PostgreSQL's common functions, for plans made without a
// database (offline_facts): the add_column planner adds a non-volatile
// default instantly and computes a volatile one per row like `up`.
//
// Each entry is pg_proc.provolatile on PostgreSQL 15 for the most volatile
// overload of the name, as gather_facts reads it online ('v' > 's' > 'i');
// the integration test CoreVolatility compares the table with the test server
// (uuid-ossp and pgcrypto installed). COALESCE, NULLIF, GREATEST, LEAST and
// SQL keywords such as CURRENT_TIMESTAMP or CURRENT_DATE are not function calls
// in the parse tree, so they never need an entry (the keywords are all stable).
#include "dialect/postgres/postgres_dialect.h"

namespace colshift::postgres {

const std::map<std::string, char>& builtin_volatility_table() {
  static const std::map<std::string, char> table = {
      // volatile: a new value per call, so per row
      {"clock_timestamp", 'v'},
      {"currval", 'v'},
      {"gen_random_bytes", 'v'},
      {"gen_random_uuid", 'v'},
      {"gen_salt", 'v'},
      {"lastval", 'v'},
      {"nextval", 'v'},
      {"random", 'v'},
      {"setval", 'v'},
      {"timeofday", 'v'},
      {"uuid_generate_v1", 'v'},
      {"uuid_generate_v1mc", 'v'},
      {"uuid_generate_v4", 'v'},
      // stable: one value per statement (a default is computed once by ADD COLUMN)
      {"age", 's'},
      {"concat", 's'},
      {"concat_ws", 's'},
      {"current_database", 's'},
      {"current_schema", 's'},
      {"current_setting", 's'},
      {"date_part", 's'},
      {"date_trunc", 's'},
      {"extract", 's'},
      {"format", 's'},
      {"json_build_object", 's'},
      {"length", 's'},  // length(bytea, name) depends on the encoding
      {"jsonb_build_object", 's'},
      {"now", 's'},
      {"pg_current_xact_id", 's'},
      {"statement_timestamp", 's'},
      {"to_char", 's'},
      {"to_date", 's'},
      {"to_json", 's'},
      {"to_jsonb", 's'},
      {"to_timestamp", 's'},
      {"transaction_timestamp", 's'},
      {"txid_current", 's'},
      {"version", 's'},
      // immutable: the same value for the same arguments
      {"abs", 'i'},
      {"btrim", 'i'},
      {"ceil", 'i'},
      {"char_length", 'i'},
      {"crypt", 'i'},
      {"decode", 'i'},
      {"digest", 'i'},
      {"encode", 'i'},
      {"floor", 'i'},
      {"initcap", 'i'},
      {"left", 'i'},
      {"lower", 'i'},
      {"lpad", 'i'},
      {"ltrim", 'i'},
      {"md5", 'i'},
      {"regexp_replace", 'i'},
      {"replace", 'i'},
      {"right", 'i'},
      {"round", 'i'},
      {"rpad", 'i'},
      {"rtrim", 'i'},
      {"sha256", 'i'},
      {"split_part", 'i'},
      {"strpos", 'i'},
      {"substr", 'i'},
      {"substring", 'i'},
      {"upper", 'i'},
      {"uuid_generate_v3", 'i'},
      {"uuid_generate_v5", 'i'},
      {"uuid_nil", 'i'},
  };
  return table;
}

std::optional<char> builtin_volatility(const std::string& function) {
  const auto& table = builtin_volatility_table();
  auto it = table.find(function);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

}  // namespace colshift::postgres
