// Type hygiene for new columns: timestamptz, bigint keys, identity, text,
// jsonb; enums.
#include <fmt/format.h>

#include <algorithm>

#include "lint/rule_helpers.h"
#include "lint/type_change.h"

namespace colshift::lint {

using ast::json;

namespace {

bool id_like(const json& cd, const std::string& name) {
  return name == "id" || (name.size() > 3 && name.ends_with("_id")) ||
         column_has(cd, "CONSTR_PRIMARY");
}

// The table that column `col` of this statement references ("" if none):
// an inline REFERENCES, or a FOREIGN KEY of the same CREATE TABLE.
std::string referenced_table(const RuleContext& ctx, const json& cd, const std::string& col) {
  if (const json* fk = column_constraint(cd, "CONSTR_FOREIGN"))
    return ast::relation_name(ast::obj(*fk, "pktable"));
  if (ctx.st().kind != "CreateStmt") return {};
  for (const auto& elt : ast::arr(ctx.st().tree, "tableElts")) {
    const json& con = ast::obj(elt, "Constraint");
    if (ast::str(con, "contype") != "CONSTR_FOREIGN") continue;
    auto attrs = ast::strings(ast::arr(con, "fk_attrs"));
    if (std::find(attrs.begin(), attrs.end(), col) != attrs.end())
      return ast::relation_name(ast::obj(con, "pktable"));
  }
  return {};
}

void check_type(RuleContext& ctx, const json& cd, const ast::TypeInfo& type,
                const std::string& table, const std::string& col) {
  std::string name = canonical_type(type.name);
  int loc = ast::location(ast::obj(cd, "typeName"));
  if (loc < 0) loc = ast::location(cd);
  if (name == "timestamp" || name == "timetz") {
    ctx.report("prefer-timestamptz",
               fmt::format("\"{}\".\"{}\" is {}: values carry no time zone, so the same row means "
                           "different instants to clients in different zones.",
                           table, col, ast::type_text(type)),
               loc);
  }
  bool small_int = name == "int4" || name == "int2";
  bool serial = type.name == "serial" || type.name == "smallserial";
  std::string references = small_int ? referenced_table(ctx, cd, col) : std::string();
  if (small_int && !references.empty() && ctx.live(references)) {
    // It matches the existing key it references: the limit is the key's,
    // and widening means widening the key and every column referencing it.
    ctx.report("prefer-bigint-id",
               fmt::format("\"{}\".\"{}\" references existing table \"{}\" and is {} like "
                           "its key: when that key is widened to bigint, this column must be "
                           "widened with it.",
                           table, col, references, type.name),
               loc,
               "Keep it matching the key for now; widen the key and every column referencing "
               "it together (new bigint columns filled in batches, then one swap), not this "
               "column alone.");
  } else if ((small_int || serial) && id_like(cd, col)) {
    ctx.report(
        "prefer-bigint-id",
        fmt::format("Key column \"{}\".\"{}\" is {}: it runs out at {} rows, and widening it "
                    "later rewrites the table.",
                    table, col, type.name,
                    name == "int2" || type.name == "smallserial" ? "32,767" : "2,147,483,647"),
        loc);
  } else if (small_int) {
    ctx.report(
        "prefer-bigint",
        fmt::format("\"{}\".\"{}\" is {}; widening it later rewrites the table, while bigint "
                    "costs at most 4 more bytes per row.",
                    table, col, type.name),
        loc);
  }
  if (type.name == "serial" || type.name == "bigserial" || type.name == "smallserial") {
    ctx.report("prefer-identity",
               fmt::format("\"{}\".\"{}\" is {}: identity columns are the standard form, with the "
                           "sequence owned and permissions handled for you.",
                           table, col, type.name),
               loc);
  }
  if (name == "varchar" && !type.mods.empty()) {
    ctx.report(
        "prefer-text",
        fmt::format("\"{}\".\"{}\" is {}: raising the limit later is cheap, but lowering it "
                    "rewrites the table; text with a CHECK on length() can change without one.",
                    table, col, ast::type_text(type)),
        loc);
  }
  if (name == "bpchar") {
    ctx.report("ban-char",
               fmt::format("\"{}\".\"{}\" is char(n): values are blank-padded and "
                           "comparisons ignore trailing spaces.",
                           table, col),
               loc);
  }
  if (name == "json") {
    ctx.report(
        "prefer-jsonb",
        fmt::format("\"{}\".\"{}\" is json: it has no equality operator (DISTINCT, GROUP BY and "
                    "UNION fail), cannot be indexed with GIN, and is re-parsed on every access.",
                    table, col),
        loc);
  }
  if (name == "money") {
    ctx.report(
        "prefer-numeric-over-money",
        fmt::format("\"{}\".\"{}\" is money: its scale follows lc_monetary, so the same data "
                    "reads differently under another locale.",
                    table, col),
        loc);
  }
}

void check(RuleContext& ctx) {
  for_each_column_def(ctx, [&](const json& cd, const std::string& table, bool) {
    check_type(ctx, cd, ast::type_info(ast::obj(cd, "typeName")), table, ast::str(cd, "colname"));
  });
  for_each_alter(ctx, [&](const AlterCmd& c) {
    if (c.subtype != "AT_AlterColumnType") return;
    const json& cd = ast::obj(c.def, "ColumnDef");
    check_type(ctx, cd, ast::type_info(ast::obj(cd, "typeName")), c.table, ast::str(c.cmd, "name"));
  });
  if (ctx.st().kind == "CreateEnumStmt") {
    ctx.report(
        "create-enum",
        "Enum values cannot be removed or reordered without rebuilding the type and every column "
        "using it.");
  }
}

}  // namespace

const RuleFamily& type_rules() {
  static const RuleFamily family{
      "types",
      {
          {"prefer-timestamptz", Severity::kInfo, "timestamp without time zone stores no instant.",
           "timestamp stores wall-clock values; what they mean depends on each client's zone. "
           "timestamptz "
           "stores an instant (UTC) and converts for display; both take 8 bytes.",
           "Use timestamptz.", "CREATE TABLE e (at timestamp);", "CREATE TABLE e (at timestamptz);",
           "squawk: prefer-timestamp-tz"},
          {"prefer-bigint-id", Severity::kInfo, "An integer key column will run out of values.",
           "int4 keys stop at 2,147,483,647; busy tables reach that, and changing the type later "
           "is a full "
           "rewrite of the table and every referencing table.",
           "Use bigint (GENERATED ALWAYS AS IDENTITY) for keys and for columns referencing them.",
           "CREATE TABLE t (id serial PRIMARY KEY);",
           "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
           "squawk: prefer-bigint-over-int, prefer-bigint-over-smallint"},
          {"prefer-bigint", Severity::kInfo, "An int or smallint column is costly to widen later.",
           "Widening an integer column is a table rewrite under ACCESS EXCLUSIVE; bigint costs 4 "
           "more bytes.",
           "Use bigint unless the range is small by nature.", "ALTER TABLE t ADD COLUMN views int;",
           "ALTER TABLE t ADD COLUMN views bigint;",
           "squawk: prefer-bigint-over-int, prefer-bigint-over-smallint"},
          {"prefer-identity", Severity::kInfo,
           "serial types are a legacy form of identity columns.",
           "serial creates a sequence with separate ownership and grants; identity columns are "
           "SQL-standard "
           "and keep the sequence tied to the column.",
           "Use bigint GENERATED ALWAYS AS IDENTITY.", "CREATE TABLE t (id bigserial PRIMARY KEY);",
           "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
           "squawk: prefer-identity"},
          {"prefer-text", Severity::kInfo, "varchar(n) makes tightening the limit a table rewrite.",
           "In PostgreSQL varchar(n) and text are stored the same; the limit only adds a check "
           "that is "
           "expensive to lower later.",
           "Use text, with CHECK (length(col) <= n) NOT VALID if a limit matters.",
           "CREATE TABLE t (name varchar(100));",
           "CREATE TABLE t (name text CHECK (length(name) <= 100));", "squawk: prefer-text-field"},
          {"ban-char", Severity::kInfo, "char(n) pads values with spaces.",
           "char(n) blank-pads, ignores trailing spaces in comparisons and is no faster than text.",
           "Use text (or varchar).", "CREATE TABLE t (code char(3));",
           "CREATE TABLE t (code text);", "squawk: ban-char-field"},
          {"prefer-jsonb", Severity::kInfo, "json has no equality and no GIN indexing.",
           "json keeps the input text; it cannot be compared, grouped or GIN-indexed, and is "
           "parsed on "
           "every access. jsonb stores a parsed form.",
           "Use jsonb.", "ALTER TABLE t ADD COLUMN data json;",
           "ALTER TABLE t ADD COLUMN data jsonb;",
           "strong_migrations: add_column_json; eugene: E3"},
          {"prefer-numeric-over-money", Severity::kInfo, "money depends on the lc_monetary locale.",
           "money's formatting and scale follow lc_monetary; restoring into another locale changes "
           "values.",
           "Use numeric(p, s) with an explicit currency column.", "CREATE TABLE t (price money);",
           "CREATE TABLE t (price numeric(12, 2));", ""},
          {"create-enum", Severity::kInfo, "Enum types are hard to change.",
           "Values can be added (ALTER TYPE ADD VALUE) but not removed or renamed safely; removing "
           "one "
           "means a new type and rewriting every column that uses it.",
           "Use text with a CHECK constraint, or a lookup table with a foreign key.",
           "CREATE TYPE status AS ENUM ('new', 'done');",
           "CREATE TABLE t (status text CHECK (status IN ('new', 'done')));", "eugene: W13"},
      },
      check};
  return family;
}

}  // namespace colshift::lint
