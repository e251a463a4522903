// Small readers over libpg_query's JSON parse tree (PostgreSQL 15 node names).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace colshift::lint::ast {

using json = nlohmann::json;

// node[key] when node is an object that has it, else nullptr.
const json* find(const json& node, const char* key);
// node[key] without copying: an empty object (obj), an empty array (arr) or
// null (member) when node is not an object or has no such key. Prefer these
// to json::value(key, json::object()), which copies the whole subtree.
const json& obj(const json& node, const char* key);
const json& arr(const json& node, const char* key);
const json& member(const json& node, const char* key);
// node[key] as a string/bool/int, or the fallback.
std::string str(const json& node, const char* key, const std::string& fallback = {});
bool flag(const json& node, const char* key);

// The text of {"String":{"sval":...}}, {"sval":...}, an A_Const string, or a
// plain JSON string; "" otherwise.
std::string string_value(const json& node);
// The strings of a list of String nodes (a qualified name).
std::vector<std::string> strings(const json& list);
// "schema.name" from a list of String nodes (DROP's objects, COMMENT's object).
std::string dotted(const std::vector<std::string>& parts);
// Whether the DefElem list node[key] (REINDEX params, VACUUM options, ...)
// names option `name`.
bool has_option(const json& node, const char* key, const char* name);
// "schema.name" or "name" from a RangeVar body (or {"RangeVar": body}).
std::string relation_name(const json& range_var);
// The table an IntoClause (CREATE TABLE ... AS's "into", SELECT ... INTO's
// "intoClause": `key`) of statement body `stmt` creates; "" when none. The
// clause may come wrapped in {"IntoClause": ...} or bare (a typed field).
std::string into_table(const json& stmt, const char* key);
// The RangeVar body's `location`, or -1.
int location(const json& node);

struct TypeInfo {
  std::string name;             // last part, as PostgreSQL spells it: int4, varchar, timestamptz
  std::vector<long long> mods;  // integer type modifiers: varchar(20) -> {20}
  bool array = false;
  bool empty() const { return name.empty(); }
};
// From a TypeName body (or {"TypeName": body}).
TypeInfo type_info(const json& type_name);
// "varchar(20)", "int4[]", ...
std::string type_text(const TypeInfo& t);

// Calls f(key, value) for every object member in the tree, depth first.
template <typename F>
void walk(const json& node, F&& f) {
  if (node.is_object()) {
    for (const auto& [k, v] : node.items()) {
      f(k, v);
      walk(v, f);
    }
  } else if (node.is_array()) {
    for (const auto& v : node) walk(v, f);
  }
}

enum class Volatility { kImmutableOrStable, kVolatile, kUnknown };
// Whether an expression (a raw parse tree) calls a volatile function:
// kVolatile for known volatile builtins (random, gen_random_uuid, nextval,
// clock_timestamp, ...), kUnknown for functions we cannot classify.
// `user` (may be null) gives the volatility of functions the file defined
// (CREATE FUNCTION ... IMMUTABLE/STABLE/VOLATILE, by unqualified name); it
// wins over the builtin tables.
using UserFunctions = std::map<std::string, Volatility>;
Volatility volatility(const json& expr, const UserFunctions* user = nullptr);
// The name of the first volatile (or unknown) function called, for messages.
std::string first_function(const json& expr, Volatility which, const UserFunctions* user = nullptr);

}  // namespace colshift::lint::ast
