// add_column on PostgreSQL: its expand, backfill, finish and complete steps and
// the inverse of each.
//
// Paths, safest that fits:
//  - instant: no `up`, and no default or a non-volatile default on PG 11+:
//    one ADD COLUMN (catalog-only; no rewrite, no scan).
//  - dual-write: otherwise. Add the column nullable without default; a BEFORE
//    trigger fills it from `up` for writes that leave it to the trigger (old app
//    versions) and counts them; batched backfill of existing rows; NOT NULL via
//    CHECK NOT VALID -> VALIDATE in finish; complete proves SET NOT NULL from
//    the check, sets the default and drops the trigger in one transaction.
#include <fmt/format.h>

#include "dialect/postgres/postgres_dialect.h"
#include "util/error.h"
#include "util/text.h"

namespace colshift::postgres {
namespace {

using plan::LockMode;
using plan::Phase;
using plan::Step;
using plan::StepKind;

bool is_volatile(const std::string& expr, const plan::CatalogFacts& facts,
                 const std::string& where) {
  for (const auto& fn : expression_functions(expr, where)) {
    auto it = facts.function_volatility.find(fn);
    char v = it == facts.function_volatility.end() ? (facts.offline ? 'i' : 'v') : it->second;
    if (v == 'v') return true;
  }
  return false;
}

double rows_at(long long rows, double rate) {
  return rows < 0 ? -1 : static_cast<double>(rows) / rate;
}

}  // namespace

std::vector<Step> PostgresDialect::plan_add_column(const migration::AddColumn& op,
                                                   const PlanContext& ctx) const {
  const auto& facts = *ctx.facts;
  const auto& t = facts.tables.at(op.table.display());
  const auto& col = op.column;
  const std::string where = fmt::format("{}:{}:{}", op.pos.file, op.pos.line, op.pos.column);
  const std::string table = qualified(t.schema, t.name);
  const std::string lock_table = t.schema + "." + t.name;
  const std::string c = quote_ident(col.name);
  const std::string what = fmt::format("{}.{}", t.name, col.name);

  if (t.column(col.name)) {
    throw Error(ErrorKind::kBadInput, fmt::format("column {} already exists", what), where,
                "choose another name, or drop this operation if the column is already in place");
  }

  const bool fast_default = facts.server_version >= kPgFastDefault;
  const bool volatile_default = col.default_expr && is_volatile(*col.default_expr, facts, where);
  const bool instant = !op.up && (!col.default_expr || (!volatile_default && fast_default));
  const std::string type = col.type;

  std::vector<Step> steps;
  auto base = [&](Phase phase, StepKind kind, std::string summary) {
    Step s;
    s.phase = phase;
    s.kind = kind;
    s.operation = ctx.operation;
    s.summary = std::move(summary);
    s.lock_table = lock_table;
    return s;
  };

  // A CHECK added NOT VALID (catalog only), then validated in finish with a
  // scan under SHARE UPDATE EXCLUSIVE, which blocks no reads or writes.
  auto add_constraint_sql = [&](const std::string& cname, const std::string& expr) {
    return fmt::format("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({}) NOT VALID", table,
                       quote_ident(cname), expr);
  };
  auto validate_step = [&](const std::string& cname, const std::string& label) {
    Step validate =
        base(Phase::kFinish, StepKind::kTransactional,
             fmt::format("validate {} on {} (scans, reads and writes continue)", label, what));
    validate.sql = {
        fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {}", table, quote_ident(cname))};
    validate.done_check = fmt::format(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {}::regclass AND conname = {} "
        "AND convalidated)",
        quote_literal(table), quote_literal(cname));
    validate.lock = LockMode::kShareUpdateExclusive;
    validate.scans = true;
    validate.estimate_seconds = rows_at(t.row_estimate, kValidateRowsPerSecond);
    validate.undo_summary = "nothing (undone with the constraint)";
    return validate;
  };
  // The user's CHECK: its own step (the instant path has no other expand
  // transaction to share), kept after complete.
  auto add_checked_constraint = [&](const std::string& cname, const std::string& expr,
                                    const std::string& label) {
    Step add = base(Phase::kFinish, StepKind::kTransactional,
                    fmt::format("add {} on {} as NOT VALID (no scan)", label, what));
    add.sql = {add_constraint_sql(cname, expr)};
    add.done_check = fmt::format(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {}::regclass AND conname = "
        "{})",
        quote_literal(table), quote_literal(cname));
    add.lock = LockMode::kAccessExclusive;
    add.estimate_note = "instant";
    add.undo = {
        fmt::format("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}", table, quote_ident(cname))};
    add.undo_lock = LockMode::kAccessExclusive;
    add.undo_summary = fmt::format("drop {} {}", label, cname);
    steps.push_back(add);
    steps.push_back(validate_step(cname, label));
  };

  if (instant) {
    Step s = base(Phase::kExpand, StepKind::kTransactional,
                  fmt::format("add column {} {}{}{} (catalog only: no rewrite, no scan)", what,
                              type, col.default_expr ? " DEFAULT " + *col.default_expr : "",
                              col.nullable ? "" : " NOT NULL"));
    std::string sql = fmt::format("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}", table, c, type);
    if (col.default_expr) sql += " DEFAULT " + *col.default_expr;
    if (!col.nullable) sql += " NOT NULL";
    s.sql = {sql};
    s.lock = LockMode::kAccessExclusive;
    s.estimate_note = "instant";
    s.undo = {fmt::format("ALTER TABLE {} DROP COLUMN IF EXISTS {}", table, c)};
    s.undo_lock = LockMode::kAccessExclusive;
    s.undo_summary = fmt::format("drop column {} (catalog only)", what);
    steps.push_back(s);
    if (col.check) {
      add_checked_constraint(fmt::format("{}_{}_check", t.name, col.name).substr(0, 63), *col.check,
                             "CHECK");
    }
    return steps;
  }

  // --- dual-write path ---
  if (t.primary_key.empty()) {
    throw Error(ErrorKind::kBadInput,
                fmt::format("table {} has no primary key; colshift backfills existing rows in "
                            "primary-key order and cannot do so safely without one",
                            op.table.display()),
                where,
                fmt::format("add one first (for example ALTER TABLE {} ADD PRIMARY KEY (id), built "
                            "from a unique index created CONCURRENTLY), or give the column a "
                            "constant default and no 'up'",
                            op.table.display()));
  }
  const std::string expr = op.up ? *op.up : *col.default_expr;
  const std::string fn = object_name({"dw", t.name, col.name});
  const std::string trigger = object_name({"dw", col.name});
  const std::string counter = object_name({"ow", t.name, col.name});
  const std::string last = object_name({"owlast", t.name, col.name});
  const std::string qfn = qualified(t.schema, fn);
  const std::string qcounter = qualified(ctx.state_schema, counter);
  const std::string qlast = qualified(ctx.state_schema, last);
  const std::string row_alias = quote_ident(t.name);

  const std::string nn = object_name({"nn", col.name});

  // The trigger: an INSERT that leaves the column NULL, or an UPDATE that leaves
  // it unchanged while the row's `up` value moved, comes from an app version
  // that does not know the column: fill it, and count the write. A writer that
  // sets the column wins. The backfill session switches the trigger off with
  // colshift.backfill = on (it computes the value itself).
  std::string body = fmt::format(
      "#variable_conflict use_column\n"
      "DECLARE\n"
      "  colshift_value {type};\n"
      "BEGIN\n"
      "  IF TG_OP = 'INSERT' THEN\n"
      "    IF NEW.{c} IS NULL THEN\n"
      "      NEW.{c} := (SELECT ({expr})::{type} FROM (SELECT NEW.*) AS {alias});\n"
      "      PERFORM nextval({counter_lit});\n"
      "      PERFORM setval({last_lit}, GREATEST(1, (extract(epoch FROM clock_timestamp()) * "
      "1000)::bigint));\n"
      "    END IF;\n"
      "  ELSIF NEW.{c} IS NOT DISTINCT FROM OLD.{c} THEN\n"
      "    colshift_value := (SELECT ({expr})::{type} FROM (SELECT NEW.*) AS {alias});\n"
      "    IF colshift_value IS DISTINCT FROM NEW.{c} THEN\n"
      "      IF OLD.{c} IS NOT NULL THEN\n"
      "        PERFORM nextval({counter_lit});\n"
      "        PERFORM setval({last_lit}, GREATEST(1, (extract(epoch FROM clock_timestamp()) * "
      "1000)::bigint));\n"
      "      END IF;\n"
      "      NEW.{c} := colshift_value;\n"
      "    END IF;\n"
      "  END IF;\n"
      "  RETURN NEW;\n"
      "END",
      fmt::arg("type", type), fmt::arg("c", c), fmt::arg("expr", expr),
      fmt::arg("alias", row_alias), fmt::arg("counter_lit", quote_literal(qcounter)),
      fmt::arg("last_lit", quote_literal(qlast)));

  // One short transaction, one lock acquisition: the column, its NOT NULL
  // check (NOT VALID: no scan; new rows must already satisfy it, and the
  // trigger fills them), and the dual-write trigger. Old app versions never
  // see the column without the trigger.
  Step expand =
      base(Phase::kExpand, StepKind::kTransactional,
           fmt::format("add column {} {} as nullable, no default{}, with dual-write trigger {} "
                       "filling it for writers that leave it to the database (catalog only)",
                       what, type, col.nullable ? "" : ", CHECK NOT NULL as NOT VALID", trigger));
  expand.sql = {fmt::format("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}", table, c, type)};
  if (!col.nullable) expand.sql.push_back(add_constraint_sql(nn, fmt::format("{} IS NOT NULL", c)));
  expand.sql.push_back(fmt::format("CREATE SEQUENCE IF NOT EXISTS {}", qcounter));
  expand.sql.push_back(fmt::format("CREATE SEQUENCE IF NOT EXISTS {} MINVALUE 0 START 0", qlast));
  expand.sql.push_back(
      fmt::format("CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS "
                  "$colshift$\n{}\n$colshift$",
                  qfn, body));
  std::string create_trigger = fmt::format(
      "CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {} FOR EACH ROW "
      "WHEN (current_setting('colshift.backfill', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION "
      "{}()",
      quote_ident(trigger), table, qfn);
  if (facts.server_version < 110000) {
    create_trigger.replace(create_trigger.find("EXECUTE FUNCTION"), 16, "EXECUTE PROCEDURE");
  }
  expand.sql.push_back(create_trigger);
  // All in one transaction: the trigger exists exactly when everything does.
  expand.done_check = fmt::format(
      "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {}::regclass AND tgname = {})",
      quote_literal(table), quote_literal(trigger));
  expand.lock = LockMode::kAccessExclusive;
  expand.estimate_note = "instant";
  expand.undo = {fmt::format("DROP TRIGGER IF EXISTS {} ON {}", quote_ident(trigger), table),
                 fmt::format("DROP FUNCTION IF EXISTS {}()", qfn),
                 fmt::format("DROP SEQUENCE IF EXISTS {}, {}", qcounter, qlast),
                 fmt::format("ALTER TABLE {} DROP COLUMN IF EXISTS {}", table, c)};
  expand.undo_lock = LockMode::kAccessExclusive;
  expand.undo_summary =
      fmt::format("drop column {} with its trigger {} (catalog only)", what, trigger);
  steps.push_back(expand);

  Step fill =
      base(Phase::kBackfill, StepKind::kBackfill,
           fmt::format("backfill {} = {} for existing rows, in primary-key batches", what, expr));
  plan::BackfillSpec spec;
  spec.schema = t.schema;
  spec.table = t.name;
  spec.column = col.name;
  spec.type = type;
  spec.expression = expr;
  spec.key_columns = t.primary_key;
  spec.key_types = t.primary_key_types;
  spec.old_write_counter = qcounter;
  spec.old_write_last = qlast;
  fill.backfill = spec;
  fill.lock = LockMode::kRowExclusive;
  fill.estimate_seconds = rows_at(t.row_estimate, kBackfillRowsPerSecond);
  fill.estimate_note =
      t.row_estimate < 0 ? "rows unknown" : fmt::format("{} rows", with_commas(t.row_estimate));
  fill.undo_summary = "nothing (the column is dropped)";
  steps.push_back(fill);

  if (col.check) {
    add_checked_constraint(fmt::format("{}_{}_check", t.name, col.name).substr(0, 63), *col.check,
                           "CHECK");
  }
  if (!col.nullable) steps.push_back(validate_step(nn, "NOT NULL check"));

  Step quiet =
      base(Phase::kComplete, StepKind::kQuietCheck,
           fmt::format("check that no app version still leaves {} to the trigger", col.name));
  quiet.backfill = spec;
  quiet.lock_table.clear();
  quiet.undo_summary = "nothing";
  quiet.estimate_note = "instant";
  steps.push_back(quiet);

  Step contract = base(Phase::kComplete, StepKind::kTransactional,
                       fmt::format("contract {}: {}{}drop the dual-write trigger", what,
                                   col.nullable ? ""
                                   : facts.server_version >= kPgNotNullFromCheck
                                       ? "SET NOT NULL (proven by the check, no scan), "
                                       : "SET NOT NULL (scans the table: PostgreSQL < 12), ",
                                   col.default_expr ? "set default, " : ""));
  if (!col.nullable) {
    contract.sql.push_back(fmt::format("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL", table, c));
    contract.sql.push_back(
        fmt::format("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}", table, quote_ident(nn)));
    if (facts.server_version < kPgNotNullFromCheck) contract.scans = true;
  }
  if (col.default_expr) {
    contract.sql.push_back(
        fmt::format("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}", table, c, *col.default_expr));
  }
  contract.sql.push_back(
      fmt::format("DROP TRIGGER IF EXISTS {} ON {}", quote_ident(trigger), table));
  contract.sql.push_back(fmt::format("DROP FUNCTION IF EXISTS {}()", qfn));
  contract.sql.push_back(fmt::format("DROP SEQUENCE IF EXISTS {}, {}", qcounter, qlast));
  contract.lock = LockMode::kAccessExclusive;
  contract.estimate_note = contract.scans ? "scans on PostgreSQL < 12" : "instant";
  contract.estimate_seconds = contract.scans ? rows_at(t.row_estimate, kValidateRowsPerSecond) : 0;
  contract.undo_summary = "not undone by rollback once completed: the column is then the app's";
  steps.push_back(contract);
  return steps;
}

}  // namespace colshift::postgres
