// Column changes on live tables: ADD COLUMN defaults, NOT NULL, type
// changes, renames and drops.
#include <fmt/format.h>

#include "lint/rule_helpers.h"
#include "lint/type_change.h"

namespace colshift::lint {

using ast::json;

bool column_has(const json& cd, const char* contype) {
  return column_constraint(cd, contype) != nullptr;
}

const json* column_constraint(const json& cd, const char* contype) {
  const json* cons = ast::find(cd, "constraints");
  if (!cons) return nullptr;
  for (const auto& c : *cons) {
    const json* con = ast::find(c, "Constraint");
    if (con && ast::str(*con, "contype") == contype) return con;
  }
  return nullptr;
}

namespace {

void check_add_column(RuleContext& ctx, const AlterCmd& c) {
  const json& cd = ast::obj(c.def, "ColumnDef");
  std::string col = ast::str(cd, "colname");
  int loc = ast::location(cd);
  std::string type = ast::type_info(ast::obj(cd, "typeName")).name;
  bool serial = type == "serial" || type == "bigserial" || type == "smallserial";
  bool identity = column_has(cd, "CONSTR_IDENTITY");
  if (serial || identity) {
    ctx.report("add-column-serial",
               fmt::format("Adding {} column \"{}\" to live table \"{}\" fills every row under an "
                           "ACCESS EXCLUSIVE lock (a full rewrite).",
                           serial ? type : "identity", col, c.table),
               loc);
    return;
  }
  if (column_has(cd, "CONSTR_GENERATED")) {
    ctx.report("add-column-generated-stored",
               fmt::format("Adding stored generated column \"{}\" rewrites live table \"{}\" "
                           "under an ACCESS EXCLUSIVE lock.",
                           col, c.table),
               loc);
    return;
  }
  const json* def = column_constraint(cd, "CONSTR_DEFAULT");
  bool not_null = column_has(cd, "CONSTR_NOTNULL") || column_has(cd, "CONSTR_PRIMARY");
  if (def) {
    const json& expr = ast::obj(*def, "raw_expr");
    if (ctx.pg_version() < 110000) {
      ctx.report(
          "add-column-default-before-11",
          fmt::format("On PostgreSQL {} a DEFAULT on new column \"{}\" is written into every "
                      "row of \"{}\" under an ACCESS EXCLUSIVE lock.",
                      ctx.pg_version() / 10000, col, c.table),
          ast::location(*def));
    } else if (auto v = ast::volatility(expr, &ctx.state().functions());
               v == ast::Volatility::kVolatile) {
      ctx.report("add-column-volatile-default",
                 fmt::format("The volatile default {}() on new column \"{}\" rewrites every row of "
                             "\"{}\" under an ACCESS EXCLUSIVE lock.",
                             ast::first_function(expr, v, &ctx.state().functions()), col, c.table),
                 ast::location(*def));
    } else if (v == ast::Volatility::kUnknown) {
      ctx.report(
          "add-column-default-unproven",
          fmt::format("colshift cannot tell whether {}() in the default of \"{}\" is "
                      "volatile; if it is, \"{}\" is rewritten under an ACCESS EXCLUSIVE lock.",
                      ast::first_function(expr, v), col, c.table),
          ast::location(*def));
    }
  } else if (not_null) {
    ctx.report("add-column-not-null-without-default",
               fmt::format("Adding NOT NULL column \"{}\" without a default fails on live table "
                           "\"{}\" as soon as it has a row.",
                           col, c.table),
               loc);
  }
}

void check_alter_type(RuleContext& ctx, const AlterCmd& c) {
  std::string col = ast::str(c.cmd, "name");
  const json& cd = ast::obj(c.def, "ColumnDef");
  auto to = ast::type_info(ast::obj(cd, "typeName"));
  auto from = ctx.state().column(c.table, col);
  auto verdict = classify_type_change(
      from ? std::optional(from->type) : std::nullopt, to, ctx.pg_version(),
      ctx.state().timezone().empty() ? ctx.options().timezone : ctx.state().timezone());
  int loc = ast::location(cd);
  if (ast::find(cd, "raw_default")) {
    ctx.report(
        "column-type-rewrite",
        fmt::format("ALTER COLUMN \"{}\" TYPE ... USING rewrites every row of \"{}\" and its "
                    "indexes under an ACCESS EXCLUSIVE lock.",
                    col, c.table),
        loc);
    return;
  }
  switch (verdict.change) {
    case TypeChange::kNoRewrite:
      return;
    case TypeChange::kTimezoneDependent:
      ctx.report("column-type-timezone-dependent",
                 fmt::format("Changing \"{}\".\"{}\": {}; otherwise the table is rewritten under "
                             "an ACCESS EXCLUSIVE lock.",
                             c.table, col, verdict.reason),
                 loc);
      return;
    case TypeChange::kRewrite:
      ctx.report("column-type-rewrite",
                 fmt::format("Changing the type of \"{}\".\"{}\" rewrites the table and rebuilds "
                             "its indexes under an ACCESS EXCLUSIVE lock: {}.",
                             c.table, col, verdict.reason),
                 loc);
      return;
    case TypeChange::kUnknown:
      ctx.report("column-type-change",
                 fmt::format("Changing the type of \"{}\".\"{}\" to {} rewrites the table under an "
                             "ACCESS EXCLUSIVE lock unless the change is binary coercible; the "
                             "current type is unknown (pass --db to classify it).",
                             c.table, col, ast::type_text(to)),
                 loc);
      return;
  }
}

void check(RuleContext& ctx) {
  for_each_alter(ctx, [&](const AlterCmd& c) {
    if (!ctx.live(c.table)) return;
    std::string col = ast::str(c.cmd, "name");
    if (c.subtype == "AT_AddColumn") {
      check_add_column(ctx, c);
    } else if (c.subtype == "AT_AlterColumnType") {
      check_alter_type(ctx, c);
    } else if (c.subtype == "AT_SetNotNull") {
      bool proven = ctx.state().not_null_proven(c.table, col);
      if (proven && ctx.pg_version() >= 120000) return;
      ctx.report("set-not-null",
                 proven
                     ? fmt::format("On PostgreSQL {} SET NOT NULL on \"{}\".\"{}\" scans the "
                                   "whole table under an ACCESS EXCLUSIVE lock even though a "
                                   "validated CHECK proves it (12+ uses the check).",
                                   ctx.pg_version() / 10000, c.table, col)
                     : fmt::format("SET NOT NULL on \"{}\".\"{}\" scans the whole table under an "
                                   "ACCESS EXCLUSIVE lock, blocking reads and writes.",
                                   c.table, col));
    } else if (c.subtype == "AT_DropNotNull") {
      ctx.report("drop-not-null",
                 fmt::format("DROP NOT NULL on \"{}\".\"{}\" lets NULLs into a column that running "
                             "code may assume is never NULL.",
                             c.table, col));
    } else if (c.subtype == "AT_DropColumn") {
      ctx.report("drop-column",
                 fmt::format("Dropping column \"{}\".\"{}\" breaks every running query and app "
                             "version that still reads or writes it.",
                             c.table, col));
    }
  });
  if (ctx.st().kind == "RenameStmt" && ast::str(ctx.st().tree, "renameType") == "OBJECT_COLUMN") {
    std::string table = ast::relation_name(ast::obj(ctx.st().tree, "relation"));
    if (!ctx.live(table)) return;
    ctx.report(
        "rename-column",
        fmt::format("Renaming column \"{}\".\"{}\" to \"{}\" breaks every running query and "
                    "app version that uses the old name.",
                    table, ast::str(ctx.st().tree, "subname"), ast::str(ctx.st().tree, "newname")));
  }
}

}  // namespace

const RuleFamily& column_rules() {
  static const RuleFamily family{
      "columns",
      {
          {"add-column-volatile-default", Severity::kError,
           "ADD COLUMN with a volatile default rewrites the whole table under an ACCESS EXCLUSIVE "
           "lock.",
           "Since PostgreSQL 11 a non-volatile default is stored once in the catalog, so ADD "
           "COLUMN is "
           "instant. A volatile default (random(), gen_random_uuid(), clock_timestamp(), "
           "nextval()) must "
           "be evaluated per row, so PostgreSQL rewrites the table and its indexes while holding "
           "ACCESS "
           "EXCLUSIVE: every read and write waits for the whole rewrite.",
           "Add the column without a default (or with a constant one), set the default for new "
           "rows with "
           "ALTER COLUMN SET DEFAULT, and fill existing rows in batches. colshift's `add_column` "
           "operation "
           "does all of this: nullable column, dual-write trigger, batched backfill from `up`.",
           "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
           "ALTER TABLE users ADD COLUMN token uuid;\nALTER TABLE users ALTER COLUMN token SET "
           "DEFAULT gen_random_uuid();\n-- then backfill in batches",
           "squawk: adding-field-with-default; strong_migrations: add_column_default_callable; "
           "Atlas: PG302"},
          {"add-column-default-unproven", Severity::kWarning,
           "ADD COLUMN with a default whose volatility colshift cannot determine may rewrite the "
           "table.",
           "colshift knows the volatility of PostgreSQL's built-in functions. A user-defined or "
           "unknown "
           "function in a DEFAULT may be volatile, and then the table is rewritten under ACCESS "
           "EXCLUSIVE.",
           "Check the function with `SELECT provolatile FROM pg_proc WHERE proname = '...'` ('v' "
           "rewrites). "
           "If it is volatile, follow add-column-volatile-default; if not, ignore this finding "
           "with "
           "`-- colshift:ignore add-column-default-unproven`.",
           "ALTER TABLE orders ADD COLUMN region text DEFAULT my_region();",
           "ALTER TABLE orders ADD COLUMN region text DEFAULT 'eu';", ""},
          {"add-column-default-before-11", Severity::kError,
           "Before PostgreSQL 11, ADD COLUMN with any DEFAULT rewrites the table.",
           "PostgreSQL 10 and older write the default into every existing row while holding ACCESS "
           "EXCLUSIVE. PostgreSQL 11 stores non-volatile defaults in the catalog instead.",
           "Add the column without a default, then SET DEFAULT, then backfill in batches: "
           "colshift's "
           "`add_column` operation.",
           "-- with --pg-version 10\nALTER TABLE users ADD COLUMN active boolean DEFAULT true;",
           "ALTER TABLE users ADD COLUMN active boolean;\nALTER TABLE users ALTER COLUMN active "
           "SET DEFAULT true;",
           "squawk: adding-field-with-default (version-gated); strong_migrations: "
           "add_column_default"},
          {"add-column-not-null-without-default", Severity::kError,
           "ADD COLUMN ... NOT NULL without a default fails on any table with rows.",
           "Existing rows would hold NULL in the new column, so PostgreSQL rejects the statement "
           "as soon "
           "as the table is non-empty; on an empty staging copy it passes, so the failure shows up "
           "in "
           "production.",
           "Add the column nullable, backfill it, add CHECK (col IS NOT NULL) NOT VALID, VALIDATE "
           "it, then "
           "SET NOT NULL. colshift's `add_column` with `nullable: false` and an `up` expression "
           "does exactly "
           "that.",
           "ALTER TABLE users ADD COLUMN email_domain text NOT NULL;",
           "ALTER TABLE users ADD COLUMN email_domain text NOT NULL DEFAULT '';",
           "squawk: adding-required-field, adding-not-nullable-field"},
          {"add-column-serial", Severity::kError,
           "Adding a serial or identity column rewrites the whole table under an ACCESS EXCLUSIVE "
           "lock.",
           "Each existing row needs its own value from the sequence, so the default is volatile "
           "and "
           "PostgreSQL rewrites the table and its indexes while blocking reads and writes.",
           "Add a plain bigint column, attach a sequence as its default for new rows, backfill "
           "existing "
           "rows in batches, then add constraints concurrently. colshift `add_column` with an `up` "
           "of "
           "nextval('seq') does the backfill.",
           "ALTER TABLE events ADD COLUMN seq bigserial;",
           "CREATE SEQUENCE events_seq_seq;\nALTER TABLE events ADD COLUMN seq bigint;\nALTER "
           "TABLE events ALTER COLUMN seq SET DEFAULT nextval('events_seq_seq');",
           "squawk: adding-serial-primary-key-field; strong_migrations: "
           "add_column_auto_incrementing; eugene: E11"},
          {"add-column-generated-stored", Severity::kError,
           "Adding a stored generated column rewrites the whole table under an ACCESS EXCLUSIVE "
           "lock.",
           "The generated value is computed and stored for every existing row during the ALTER, "
           "which "
           "rewrites the table while blocking reads and writes.",
           "Add a plain column, fill it with a trigger for new rows and a batched backfill for old "
           "ones "
           "(colshift `add_column` with `up`), or compute the value in a view.",
           "ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;",
           "ALTER TABLE orders ADD COLUMN total numeric;",
           "strong_migrations: add_column_generated_stored; eugene: E11"},
          {"set-not-null", Severity::kError,
           "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock.",
           "PostgreSQL verifies that no row is NULL while holding ACCESS EXCLUSIVE, blocking all "
           "reads and "
           "writes for the length of a full scan. From PostgreSQL 12 the scan is skipped when a "
           "validated "
           "CHECK (col IS NOT NULL) constraint already proves it.",
           "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c (no blocking "
           "lock); "
           "then SET NOT NULL (instant) and drop the check. colshift's `add_column` does this for "
           "`nullable: false`.",
           "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
           "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\n"
           "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\nALTER TABLE users ALTER COLUMN "
           "email SET NOT NULL;",
           "squawk: adding-not-nullable-field; strong_migrations: change_column_null; eugene: E2; "
           "Atlas: MF104, PG303"},
          {"drop-not-null", Severity::kWarning,
           "DROP NOT NULL lets NULLs into a column that running code may assume is never NULL.",
           "The change is instant, but it is backward incompatible for readers: an app version "
           "that "
           "assumes a value will meet NULLs written by the new one.",
           "Ship code that handles NULL first, then drop the constraint.",
           "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
           "-- deploy NULL-safe readers first", "squawk: ban-drop-not-null"},
          {"column-type-rewrite", Severity::kError,
           "This column type change rewrites the table and rebuilds its indexes under an ACCESS "
           "EXCLUSIVE lock.",
           "Unless the old and new types are binary coercible (varchar(n) to text, a wider varchar "
           "or "
           "numeric precision, cidr to inet), ALTER COLUMN TYPE converts every value, rewriting "
           "the table "
           "and every index on it while blocking reads and writes.",
           "Add a new column of the new type, dual-write and backfill it (colshift `add_column` "
           "with "
           "`up: old_col::newtype`), switch readers, then drop the old column.",
           "-- given: users.id is int4\nALTER TABLE users ALTER COLUMN id TYPE bigint;",
           "-- given: users.name is varchar(100)\nALTER TABLE users ALTER COLUMN name TYPE text;",
           "squawk: changing-column-type; strong_migrations: change_column; eugene: E5; Atlas: "
           "PG301"},
          {"column-type-timezone-dependent", Severity::kWarning,
           "timestamp -> timestamptz keeps the data only when the session TimeZone is UTC.",
           "From PostgreSQL 12 this change is catalog-only if the session's TimeZone is UTC, "
           "because the "
           "stored values then mean the same instant. Under any other TimeZone every row is "
           "converted "
           "and the table is rewritten under ACCESS EXCLUSIVE.",
           "Run it with `SET LOCAL TimeZone = 'UTC'` in the same transaction (and make sure the "
           "stored "
           "values are UTC), or use the add-column-and-backfill recipe.",
           "-- given: events.at is timestamp\nALTER TABLE events ALTER COLUMN at TYPE timestamptz;",
           "-- given: events.at is timestamp\nBEGIN;\nSET LOCAL TimeZone = 'UTC';\nALTER TABLE "
           "events ALTER COLUMN at TYPE timestamptz;\nCOMMIT;",
           ""},
          {"column-type-change", Severity::kWarning,
           "A column type change rewrites the table unless it is binary coercible; the current "
           "type is unknown.",
           "colshift classifies type changes exactly when it knows the current type: from CREATE "
           "TABLE or "
           "ADD COLUMN earlier in the file, or from the server with --db.",
           "Pass --db so colshift can read the current type, or follow column-type-rewrite.",
           "ALTER TABLE users ALTER COLUMN name TYPE text;", "-- colshift lint --db $DATABASE_URL",
           "squawk: changing-column-type"},
          {"rename-column", Severity::kWarning,
           "Renaming a column breaks running code that uses the old name.",
           "RENAME is instant, but app versions deployed before it fail on the old name until they "
           "are "
           "replaced: there is no moment when both names work.",
           "Add a new column and backfill it (colshift `add_column`), move readers and writers, "
           "then drop "
           "the old one; or expose the new name through a view.",
           "ALTER TABLE users RENAME COLUMN name TO full_name;",
           "ALTER TABLE users ADD COLUMN full_name text;",
           "squawk: renaming-column; strong_migrations: rename_column; Atlas: BC102"},
          {"drop-column", Severity::kWarning,
           "Dropping a column breaks running code that still reads or writes it.",
           "The drop is catalog-only and fast, but app versions still selecting or inserting the "
           "column "
           "fail at once, and the data is gone.",
           "Stop using the column in code first (ignore it in the ORM), deploy, then drop it.",
           "ALTER TABLE users DROP COLUMN legacy;",
           "-- deploy code that no longer uses it, then drop",
           "squawk: ban-drop-column; strong_migrations: remove_column; Atlas: DS103"},
      },
      check};
  return family;
}

}  // namespace colshift::lint
