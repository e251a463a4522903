#include "lint/type_change.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <utility>

namespace colshift::lint {

std::string canonical_type(const std::string& name) {
  static const std::map<std::string, std::string> aliases = {
      {"integer", "int4"},
      {"int", "int4"},
      {"smallint", "int2"},
      {"bigint", "int8"},
      {"character varying", "varchar"},
      {"character", "bpchar"},
      {"char", "bpchar"},
      {"timestamp without time zone", "timestamp"},
      {"timestamp with time zone", "timestamptz"},
      {"time without time zone", "time"},
      {"time with time zone", "timetz"},
      {"boolean", "bool"},
      {"double precision", "float8"},
      {"real", "float4"},
      {"decimal", "numeric"},
      {"serial", "int4"},
      {"bigserial", "int8"},
      {"smallserial", "int2"},
      {"bit varying", "varbit"}};
  auto it = aliases.find(name);
  return it == aliases.end() ? name : it->second;
}

namespace {

// Types whose typmod only limits values: growing or dropping the limit keeps
// the data as is; shrinking it rewrites (every value is re-checked).
const std::set<std::string>& length_limited() {
  static const std::set<std::string> s = {"varchar",     "varbit", "numeric", "timestamp",
                                          "timestamptz", "time",   "timetz",  "interval"};
  return s;
}

// Binary-coercible pairs (pg_cast castmethod 'b') that matter for migrations.
const std::set<std::pair<std::string, std::string>>& coercible() {
  static const std::set<std::pair<std::string, std::string>> s = {
      {"varchar", "text"}, {"text", "varchar"}, {"bpchar", "varchar"}, {"cidr", "inet"},
      {"xml", "text"},     {"varchar", "xml"},  {"text", "xml"},       {"bit", "varbit"},
      {"regclass", "oid"}, {"oid", "regclass"}};
  return s;
}

bool mods_grow(const ast::TypeInfo& from, const ast::TypeInfo& to) {
  if (to.mods.empty()) return true;
  if (from.mods.empty()) return false;
  if (from.name == "numeric") {
    // numeric(p,s) -> numeric(p2,s): no rewrite when the scale is unchanged
    // and the precision does not shrink.
    long long s1 = from.mods.size() > 1 ? from.mods[1] : 0;
    long long s2 = to.mods.size() > 1 ? to.mods[1] : 0;
    return s1 == s2 && to.mods[0] >= from.mods[0];
  }
  return to.mods[0] >= from.mods[0];
}

}  // namespace

TypeChangeVerdict classify_type_change(const std::optional<ast::TypeInfo>& from_in,
                                       const ast::TypeInfo& to_in, int pg_version,
                                       const std::string& timezone) {
  if (!from_in) return {TypeChange::kUnknown, "the column's current type is not known"};
  ast::TypeInfo from = *from_in, to = to_in;
  from.name = canonical_type(from.name);
  to.name = canonical_type(to.name);
  std::string arrow = fmt::format("{} -> {}", ast::type_text(from), ast::type_text(to));
  if (from.array != to.array) return {TypeChange::kRewrite, arrow + " converts every value"};
  if (from.name == to.name) {
    if (from.mods == to.mods) return {TypeChange::kNoRewrite, arrow + " changes nothing"};
    if (length_limited().count(from.name) && mods_grow(from, to)) {
      return {TypeChange::kNoRewrite, arrow + " only relaxes the limit"};
    }
    return {TypeChange::kRewrite, arrow + " tightens the limit, so every row is rewritten"};
  }
  if (coercible().count({from.name, to.name})) {
    bool limited = to.name == "varchar" && !to.mods.empty();
    if (!limited) return {TypeChange::kNoRewrite, arrow + " is binary coercible"};
    return {TypeChange::kRewrite, arrow + " checks every value against the new length"};
  }
  if (from.name == "timestamp" && to.name == "timestamptz") {
    if (pg_version < 120000)
      return {TypeChange::kRewrite, arrow + " rewrites before PostgreSQL 12"};
    if (timezone == "UTC" || timezone == "Etc/UTC") {
      return {TypeChange::kNoRewrite, arrow + " keeps the data because TimeZone is UTC"};
    }
    return {TypeChange::kTimezoneDependent,
            arrow + " keeps the data only when the session TimeZone is UTC" +
                (timezone.empty() ? std::string() : " (it is " + timezone + ")")};
  }
  return {TypeChange::kRewrite,
          arrow + " converts every value: the table and its indexes are rewritten"};
}

}  // namespace colshift::lint
