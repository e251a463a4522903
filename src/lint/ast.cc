#include "lint/ast.h"

#include <algorithm>
#include <set>

namespace colshift::lint::ast {

const json* find(const json& node, const char* key) {
  if (!node.is_object()) return nullptr;
  // The std::map itself: nlohmann's find wraps it in iterators that cost
  // more than the lookup (this is the linter's most called function).
  const auto& members = node.get_ref<const json::object_t&>();
  auto it = members.find(std::string_view(key));  // no strlen per comparison
  return it == members.end() ? nullptr : &it->second;
}

const json& obj(const json& node, const char* key) {
  static const json kEmpty = json::object();
  const json* v = find(node, key);
  return v ? *v : kEmpty;
}

const json& arr(const json& node, const char* key) {
  static const json kEmpty = json::array();
  const json* v = find(node, key);
  return v ? *v : kEmpty;
}

const json& member(const json& node, const char* key) {
  static const json kNull;
  const json* v = find(node, key);
  return v ? *v : kNull;
}

std::string str(const json& node, const char* key, const std::string& fallback) {
  const json* v = find(node, key);
  return v && v->is_string() ? v->get<std::string>() : fallback;
}

bool flag(const json& node, const char* key) {
  const json* v = find(node, key);
  return v && v->is_boolean() && v->get<bool>();
}

std::string string_value(const json& node) {
  if (node.is_string()) return node.get<std::string>();
  if (!node.is_object()) return {};
  if (const json* s = find(node, "String")) return str(*s, "sval");
  if (const json* s = find(node, "sval"))
    return s->is_string() ? s->get<std::string>() : string_value(*s);
  if (const json* c = find(node, "A_Const")) return string_value(*c);
  return {};
}

std::vector<std::string> strings(const json& list) {
  std::vector<std::string> out;
  if (!list.is_array()) return out;
  for (const auto& item : list) out.push_back(string_value(item));
  return out;
}

std::string dotted(const std::vector<std::string>& parts) {
  std::string name;
  for (const auto& p : parts) name += (name.empty() ? "" : ".") + p;
  return name;
}

bool has_option(const json& node, const char* key, const char* name) {
  for (const auto& p : arr(node, key)) {
    if (str(obj(p, "DefElem"), "defname") == name) return true;
  }
  return false;
}

std::string relation_name(const json& range_var) {
  const json* inner = find(range_var, "RangeVar");
  const json& rv = inner ? *inner : range_var;
  std::string name = str(rv, "relname");
  std::string schema = str(rv, "schemaname");
  return schema.empty() ? name : schema + "." + name;
}

std::string into_table(const json& stmt, const char* key) {
  const json& into = obj(stmt, key);
  const json* wrapped = find(into, "IntoClause");
  return relation_name(obj(wrapped ? *wrapped : into, "rel"));
}

int location(const json& node) {
  const json* v = find(node, "location");
  return v && v->is_number_integer() ? v->get<int>() : -1;
}

TypeInfo type_info(const json& type_name) {
  const json* inner = find(type_name, "TypeName");
  const json& tn = inner ? *inner : type_name;
  TypeInfo t;
  if (const json* names = find(tn, "names")) {
    auto parts = strings(*names);
    if (!parts.empty()) t.name = parts.back();
  }
  if (const json* mods = find(tn, "typmods")) {
    for (const auto& m : *mods) {
      const json* c = find(m, "A_Const");
      if (!c) continue;
      if (const json* i = find(*c, "ival")) t.mods.push_back(i->value("ival", 0LL));
    }
  }
  t.array = find(tn, "arrayBounds") != nullptr;
  return t;
}

std::string type_text(const TypeInfo& t) {
  std::string s = t.name;
  if (!t.mods.empty()) {
    s += "(";
    for (size_t i = 0; i < t.mods.size(); ++i) s += (i ? "," : "") + std::to_string(t.mods[i]);
    s += ")";
  }
  if (t.array) s += "[]";
  return s;
}

namespace {

const std::set<std::string>& volatile_functions() {
  static const std::set<std::string> s = {
      "random",  "gen_random_uuid", "uuid_generate_v1",   "uuid_generate_v1mc", "uuid_generate_v4",
      "uuidv4",  "uuidv7",          "clock_timestamp",    "timeofday",          "nextval",
      "setval",  "txid_current",    "pg_current_xact_id", "random_normal",      "gen_random_bytes",
      "currval", "lastval"};
  return s;
}

// Builtins that are immutable or stable: evaluated once for ADD COLUMN.
const std::set<std::string>& known_functions() {
  static const std::set<std::string> s = {"now",
                                          "current_timestamp",
                                          "transaction_timestamp",
                                          "statement_timestamp",
                                          "lower",
                                          "upper",
                                          "coalesce",
                                          "concat",
                                          "concat_ws",
                                          "length",
                                          "to_char",
                                          "to_timestamp",
                                          "to_date",
                                          "jsonb_build_object",
                                          "json_build_object",
                                          "jsonb_build_array",
                                          "json_build_array",
                                          "array_length",
                                          "make_interval",
                                          "date_trunc",
                                          "abs",
                                          "round",
                                          "floor",
                                          "ceil",
                                          "greatest",
                                          "least",
                                          "md5",
                                          "replace",
                                          "substring",
                                          "substr",
                                          "trim",
                                          "btrim",
                                          "split_part",
                                          "left",
                                          "right",
                                          "format",
                                          "current_date",
                                          "localtimestamp",
                                          "current_user",
                                          "session_user",
                                          "current_setting",
                                          "gen_salt",
                                          "to_jsonb",
                                          "to_json",
                                          "timezone",
                                          "date_part",
                                          "extract",
                                          "nullif",
                                          "array",
                                          "cardinality",
                                          "char_length",
                                          "octet_length",
                                          "initcap"};
  return s;
}

std::string func_name(const json& fc) {
  auto parts = strings(ast::arr(fc, "funcname"));
  return parts.empty() ? "" : parts.back();
}

}  // namespace

namespace {

Volatility classify(const std::string& name, const UserFunctions* user) {
  if (user) {
    if (auto it = user->find(name); it != user->end()) return it->second;
  }
  if (volatile_functions().count(name)) return Volatility::kVolatile;
  if (known_functions().count(name)) return Volatility::kImmutableOrStable;
  return Volatility::kUnknown;
}

}  // namespace

Volatility volatility(const json& expr, const UserFunctions* user) {
  Volatility v = Volatility::kImmutableOrStable;
  walk(expr, [&](const std::string& key, const json& value) {
    if (key != "FuncCall") return;
    Volatility f = classify(func_name(value), user);
    if (f == Volatility::kVolatile) {
      v = Volatility::kVolatile;
    } else if (f == Volatility::kUnknown && v != Volatility::kVolatile) {
      v = Volatility::kUnknown;
    }
  });
  return v;
}

std::string first_function(const json& expr, Volatility which, const UserFunctions* user) {
  std::string found;
  walk(expr, [&](const std::string& key, const json& value) {
    if (key != "FuncCall" || !found.empty()) return;
    std::string name = func_name(value);
    if (which != Volatility::kImmutableOrStable && classify(name, user) == which) found = name;
  });
  return found;
}

}  // namespace colshift::lint::ast
