// add_column on PostgreSQL: its expand, backfill and complete steps and the
// inverse of each.
//
// Paths, safest that fits:
//  - instant: no `up`, and no default or a non-volatile default on PG 11+:
//    one ADD COLUMN (catalog-only; no rewrite, no scan).
//  - dual-write: otherwise. Expand adds the column nullable without default
//    and a BEFORE trigger that derives it from `up` for old-version writes;
//    the backfill fills existing rows. No constraint an app write could
//    violate is live before complete: complete checks that the old version
//    stopped writing, fills what is still missing (or refuses with the key),
//    adds the NOT NULL check NOT VALID and validates it, then contracts in one
//    transaction (SET NOT NULL proven by the check, default, trigger dropped).
//
// Who is writing (the trigger's first question): a session that declares
// this migration's version (setting colshift.version, or the token
// "colshift:<version>" in application_name) is the new app version and is
// never touched, except that an INSERT leaving the column NULL gets the new
// shape's default. A session that declares another version is old: its
// writes derive the column from `up` — an INSERT that leaves it NULL, a row
// without a value yet, and an UPDATE that changed what `up` reads (a volatile
// `up` only once per row, never on UPDATE). A session that declares nothing
// is old with `undeclared_writers: old`, and otherwise guessed: a value a
// writer set (in this statement or an earlier one) is never overwritten, a
// row without a value is derived, and a value colshift derived follows `up`
// when an UPDATE changes what `up` reads. "Colshift derived it" means: it is
// what `up` gives for the old row, and no undeclared writer set it — the
// trigger records (key, value) of each value an undeclared writer sets, in
// a table in colshift's schema, and a BEFORE UPDATE OF trigger records a SET
// that names the column but keeps its value.
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

// The names of what the dual-write path creates for one column.
struct DualWriteNames {
  std::string function;  // in the table's schema
  std::string trigger;
  std::string old_writes;  // sequences in colshift's schema
  std::string old_write_last;
  std::string failures;
  std::string not_null_check;
  std::string written;        // guess mode: values undeclared writers set (colshift's schema)
  std::string named_trigger;  // guess mode: BEFORE UPDATE OF the column
  std::string named_function;
};

DualWriteNames dual_write_names(const plan::TableFacts& t, const std::string& column) {
  const std::vector<std::string> parts = {t.schema, t.name, column};
  return {PostgresDialect::object_name("dw", parts), PostgresDialect::object_name("dw", {column}),
          PostgresDialect::object_name("ow", parts), PostgresDialect::object_name("owlast", parts),
          PostgresDialect::object_name("tf", parts), PostgresDialect::object_name("nn", {column}),
          PostgresDialect::object_name("wr", parts), PostgresDialect::object_name("dn", {column}),
          PostgresDialect::object_name("dn", parts)};
}

// The declarations and first statements of both trigger functions: which
// version is writing (colshift_writer: 0 new, 1 old, 2 undeclared).
std::string writer_prelude(const PostgresDialect& d, const PlanContext& ctx,
                           const std::string& more_declarations) {
  return fmt::format(
      "#variable_conflict use_column\n"
      "DECLARE\n"
      "  colshift_version text := nullif(current_setting('colshift.version', true), '');\n"
      "  colshift_app text;\n"
      "  colshift_at int;\n"
      "  colshift_writer int;  -- 0 new version, 1 old version, 2 undeclared\n"
      "{more}"
      "BEGIN\n"
      "  IF colshift_version IS NULL THEN\n"
      "    colshift_app := ' ' || translate(current_setting('application_name'), ',;/@|()', "
      "'       ') || ' ';\n"
      "    colshift_at := position(' colshift:' in colshift_app);\n"
      "    IF colshift_at > 0 THEN\n"
      "      colshift_version := split_part(substr(colshift_app, colshift_at + 10), ' ', 1);\n"
      "    END IF;\n"
      "  END IF;\n"
      "  colshift_writer := CASE WHEN colshift_version = {version} THEN 0\n"
      "                          WHEN colshift_version IS NOT NULL THEN 1 ELSE {undeclared} END;\n",
      fmt::arg("more", more_declarations), fmt::arg("version", d.quote_literal(ctx.migration)),
      fmt::arg("undeclared", ctx.undeclared == plan::UndeclaredWriters::kOld ? 1 : 2));
}

// The primary key of NEW or OLD as one text (a row literal: unambiguous for
// composite keys).
std::string key_text(const PostgresDialect& d, const plan::TableFacts& t, const char* row) {
  std::vector<std::string> parts;
  for (const auto& k : t.primary_key) parts.push_back(fmt::format("{}.{}", row, d.quote_ident(k)));
  return fmt::format("ROW({})::text", join(parts, ", "));
}

// Guess mode: remember that an undeclared writer set the column of this row
// to this value. A failure here is logged and never fails the app's write.
std::string record_written(const PostgresDialect& d, const plan::TableFacts& t,
                           const std::string& c, const std::string& written,
                           const std::string& indent) {
  return fmt::format(
      "{0}BEGIN\n"
      "{0}  INSERT INTO {1} (key, value) VALUES ({2}, NEW.{3}::text)\n"
      "{0}    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;\n"
      "{0}EXCEPTION WHEN OTHERS THEN\n"
      "{0}  RAISE LOG 'colshift: could not record a value set on %: % (SQLSTATE %)', {4}, "
      "SQLERRM, SQLSTATE;\n"
      "{0}END;\n",
      indent, written, key_text(d, t, "NEW"), c, d.quote_literal(t.name));
}

// The trigger function's body (PL/pgSQL). See the file comment for the rules.
std::string trigger_body(const PostgresDialect& d, const migration::AddColumn& op,
                         const plan::TableFacts& t, const std::string& expr, bool volatile_up,
                         const PlanContext& ctx, const DualWriteNames& names,
                         const std::string& state_schema) {
  const std::string c = d.quote_ident(op.column.name);
  const std::string type = op.column.type;
  const std::string counter = d.qualified(state_schema, names.old_writes);
  const std::string last = d.qualified(state_schema, names.old_write_last);
  const std::string failures = d.qualified(state_schema, names.failures);
  const std::string written = d.qualified(state_schema, names.written);
  const bool guess = ctx.undeclared == plan::UndeclaredWriters::kGuess && !volatile_up;
  const std::string bump_old = fmt::format(
      "PERFORM nextval({0});\n"
      "    PERFORM setval({1}, GREATEST(1, (extract(epoch FROM clock_timestamp()) * "
      "1000)::bigint));",
      d.quote_literal(counter), d.quote_literal(last));
  std::string new_version_default;
  if (op.column.default_expr) {
    new_version_default = fmt::format(
        "    IF TG_OP = 'INSERT' AND NEW.{0} IS NULL THEN\n"
        "      NEW.{0} := ({1})::{2};\n"
        "    END IF;\n",
        c, *op.column.default_expr, type);
  }
  // An UPDATE of a row that has a value re-derives it only when the write
  // changed what `up` reads (an email's domain follows the email); otherwise
  // the value stays, whoever set it (a qty change keeps the source the new
  // version wrote). Undeclared (guess): only a value colshift derived — one
  // that is what `up` gives for the old row and that no undeclared writer
  // set (the record) — follows; any other was a writer's choice and stays.
  std::string rederive;
  if (!volatile_up) {
    rederive = fmt::format(
        "    IF TG_OP = 'UPDATE' AND NEW.{0} IS NOT NULL THEN\n"
        "      colshift_old := (SELECT ({1})::{2} FROM (SELECT OLD.*) AS {3});\n"
        "      IF colshift_value IS NOT DISTINCT FROM colshift_old THEN\n"
        "        RETURN NEW;\n"
        "      END IF;\n",
        c, expr, type, d.quote_ident(t.name));
    if (guess) {
      rederive += fmt::format(
          "      IF colshift_writer = 2 AND (OLD.{0} IS DISTINCT FROM colshift_old OR EXISTS (\n"
          "          SELECT 1 FROM {1} WHERE key = {2} AND value IS NOT DISTINCT FROM "
          "OLD.{0}::text)) THEN\n"
          "        RETURN NEW;  -- a writer's value, not colshift's\n"
          "      END IF;\n",
          c, written, key_text(d, t, "OLD"));
    }
    rederive += "    END IF;\n";
  }
  std::vector<std::string> key_parts;
  for (const auto& k : t.primary_key) key_parts.push_back("NEW." + d.quote_ident(k) + "::text");
  const std::string record = guess ? fmt::format("    IF colshift_writer = 2 THEN\n{}    END IF;\n",
                                                 record_written(d, t, c, written, "      "))
                                   : std::string();
  return writer_prelude(d, ctx,
                        fmt::format("  colshift_value {0};\n  colshift_old {0};\n"
                                    "  colshift_failed boolean := false;\n",
                                    type)) +
         fmt::format(
             "  IF colshift_writer = 0 THEN\n"
             "{new_default}"
             "    RETURN NEW;\n"
             "  END IF;\n"
             "  IF colshift_writer = 1 THEN\n"
             "    {bump_old}\n"
             "  END IF;\n"
             "  IF TG_OP = 'INSERT' THEN\n"
             "    IF NEW.{c} IS NOT NULL THEN\n"
             "{record}"
             "      RETURN NEW;\n"
             "    END IF;\n"
             "    IF colshift_writer = 2 THEN\n"
             "      {bump_old}\n"
             "    END IF;\n"
             "  ELSIF NEW.{c} IS DISTINCT FROM OLD.{c} THEN\n"
             "    IF NEW.{c} IS NOT NULL THEN\n"
             "{record}"
             "    END IF;\n"
             "    RETURN NEW;  -- the writer set the column\n"
             "{keep_computed}"
             "  END IF;\n"
             "  BEGIN\n"
             "    colshift_value := (SELECT ({expr})::{type} FROM (SELECT NEW.*) AS {alias});\n"
             "{rederive}"
             "  EXCEPTION WHEN OTHERS THEN\n"
             "    colshift_failed := true;\n"
             "    RAISE LOG 'colshift: up of %.% failed for key (%): % (SQLSTATE %)', "
             "{table_lit}, {column_lit}, concat_ws(', ', {key}), SQLERRM, SQLSTATE;\n"
             "  END;\n"
             "  IF colshift_failed{null_fails} THEN\n"
             "    PERFORM nextval({failures});\n"
             "    RETURN NEW;  -- left without a value: complete fills it or names the row\n"
             "  END IF;\n"
             "  IF colshift_writer = 2 AND TG_OP = 'UPDATE' THEN\n"
             "    {bump_old}  -- it left the new column to colshift: an old-version write\n"
             "  END IF;\n"
             "  NEW.{c} := colshift_value;\n"
             "  RETURN NEW;\n"
             "END",
             fmt::arg("type", type), fmt::arg("new_default", new_version_default),
             fmt::arg("bump_old", bump_old), fmt::arg("c", c), fmt::arg("record", record),
             fmt::arg("keep_computed",
                      volatile_up ? fmt::format("  ELSIF NEW.{} IS NOT NULL THEN\n"
                                                "    RETURN NEW;  -- a volatile value is computed "
                                                "once, never on UPDATE\n",
                                                c)
                                  : std::string()),
             fmt::arg("rederive", rederive), fmt::arg("expr", expr),
             fmt::arg("alias", d.quote_ident(t.name)),
             fmt::arg("table_lit", d.quote_literal(t.name)),
             fmt::arg("column_lit", d.quote_literal(op.column.name)),
             fmt::arg("key", join(key_parts, ", ")),
             fmt::arg("null_fails", op.column.nullable ? "" : " OR colshift_value IS NULL"),
             fmt::arg("failures", d.quote_literal(failures)));
}

// Guess mode: an UPDATE whose SET names the column but leaves its value as
// it was (SET email = ..., email_domain = <its current value>) cannot be told
// from one that does not name it inside the row trigger; this BEFORE UPDATE OF
// trigger fires only for the first and records the value as a writer's.
std::string named_body(const PostgresDialect& d, const plan::TableFacts& t, const PlanContext& ctx,
                       const std::string& c, const std::string& written) {
  return writer_prelude(d, ctx, "") +
         fmt::format("  IF colshift_writer = 2 THEN\n{}  END IF;\n  RETURN NEW;\nEND",
                     record_written(d, t, c, written, "    "));
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
  auto constraint_exists = [&](const std::string& cname) {
    return fmt::format(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {}::regclass AND conname = "
        "{} AND convalidated)",
        quote_literal(table), quote_literal(cname));
  };
  auto key_list = [&] {
    std::vector<std::string> k;
    for (const auto& name : t.primary_key) k.push_back(quote_ident(name));
    return k.empty() ? std::string("ctid") : join(k, ", ");
  };
  // A CHECK added NOT VALID (catalog only, a brief ACCESS EXCLUSIVE), then
  // validated with a scan under SHARE UPDATE EXCLUSIVE, which blocks no reads
  // or writes; dropped again when a row fails it. In complete: only then can
  // an app write violate it.
  auto check_step = [&](const std::string& cname, const std::string& expr,
                        const std::string& label) {
    Step s = base(Phase::kComplete, StepKind::kCheckConstraint,
                  fmt::format("add {} on {} as NOT VALID, then validate it (scans; reads and "
                              "writes continue)",
                              label, what));
    s.rank = plan::kCompleteRankConstraint;
    // Idempotent: a re-run after a crash between the two finds it added.
    const std::string add = fmt::format(
        "IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {}::regclass AND conname = "
        "{}) THEN\n  ALTER TABLE {} ADD CONSTRAINT {} CHECK ({}) NOT VALID;\nEND IF;",
        quote_literal(table), quote_literal(cname), table, quote_ident(cname), expr);
    const std::string tag = dollar_tag(add);
    s.sql = {fmt::format("DO {}\nBEGIN\n{}\nEND\n{}", tag, add, tag),
             fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {}", table, quote_ident(cname))};
    s.done_check = constraint_exists(cname);
    s.constraint_name = cname;
    s.violations_sql =
        fmt::format("SELECT {} FROM {} WHERE ({}) IS FALSE LIMIT 5", key_list(), table, expr);
    s.lock = LockMode::kShareUpdateExclusive;
    s.scans = true;
    s.estimate_seconds = rows_at(t.row_estimate, kValidateRowsPerSecond);
    s.estimate_note = "brief ACCESS EXCLUSIVE to add it";
    s.undo = {
        fmt::format("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}", table, quote_ident(cname))};
    s.undo_lock = LockMode::kAccessExclusive;
    s.undo_summary = fmt::format("drop {} {}", label, cname);
    return s;
  };
  const std::string user_check = fmt::format("{}_{}_check", t.name, col.name).substr(0, 63);

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
    if (col.check) steps.push_back(check_step(user_check, *col.check, "CHECK"));
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
  const bool volatile_up = op.up ? is_volatile(*op.up, facts, where) : volatile_default;
  const auto names = dual_write_names(t, col.name);
  const std::string qfn = qualified(t.schema, names.function);
  const std::string qcounter = qualified(ctx.state_schema, names.old_writes);
  const std::string qlast = qualified(ctx.state_schema, names.old_write_last);
  const std::string qfailures = qualified(ctx.state_schema, names.failures);

  const std::string body =
      trigger_body(*this, op, t, expr, volatile_up, ctx, names, ctx.state_schema);
  // Guess mode (undeclared writers, a non-volatile `up`): which values an
  // undeclared writer set, so an UPDATE never re-derives one of them.
  const bool record_writes = ctx.undeclared == plan::UndeclaredWriters::kGuess && !volatile_up;
  const std::string qwritten = qualified(ctx.state_schema, names.written);
  const std::string qnamed_fn = qualified(t.schema, names.named_function);

  // One short transaction, one lock acquisition: the column and the
  // dual-write trigger, so old app versions never see the column without it.
  // App sessions bump the counters from inside the trigger: any role may.
  Step expand =
      base(Phase::kExpand, StepKind::kTransactional,
           fmt::format("add column {} {} as nullable, no default, with dual-write trigger {} "
                       "deriving it from {} for old-version writes (catalog only)",
                       what, type, names.trigger, op.up ? "'up'" : "the default"));
  // Everything that needs no lock on the table comes first, so the ACCESS
  // EXCLUSIVE that ADD COLUMN takes is held (until commit) for the ALTER and
  // the CREATE TRIGGERs alone: app queries queue behind less.
  for (const auto& seq : {qcounter, qfailures}) {
    expand.sql.push_back(fmt::format("CREATE SEQUENCE IF NOT EXISTS {}", seq));
  }
  expand.sql.push_back(fmt::format("CREATE SEQUENCE IF NOT EXISTS {} MINVALUE 0 START 0", qlast));
  expand.sql.push_back(
      fmt::format("GRANT USAGE ON SCHEMA {} TO PUBLIC", quote_ident(ctx.state_schema)));
  expand.sql.push_back(fmt::format("GRANT USAGE, UPDATE ON SEQUENCE {}, {}, {} TO PUBLIC", qcounter,
                                   qlast, qfailures));
  auto create_function = [&](const std::string& fn, const std::string& fn_body) {
    const std::string tag = dollar_tag(fn_body);
    expand.sql.push_back(fmt::format(
        "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS {}\n{}\n{}", fn, tag,
        fn_body, tag));
  };
  auto create_trigger = [&](const std::string& name, const std::string& event,
                            const std::string& when, const std::string& fn) {
    std::string sql = fmt::format(
        "CREATE TRIGGER {} BEFORE {} ON {} FOR EACH ROW "
        "WHEN (current_setting('colshift.backfill', true) IS DISTINCT FROM 'on'{}) EXECUTE "
        "FUNCTION {}()",
        quote_ident(name), event, table, when, fn);
    if (facts.server_version < 110000) {
      sql.replace(sql.find("EXECUTE FUNCTION"), 16, "EXECUTE PROCEDURE");
    }
    expand.sql.push_back(sql);
  };
  if (record_writes) {
    expand.sql.push_back(
        fmt::format("CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, value text)", qwritten));
    expand.sql.push_back(
        fmt::format("GRANT SELECT, INSERT, UPDATE ON TABLE {} TO PUBLIC", qwritten));
    create_function(qnamed_fn, named_body(*this, t, ctx, c, qwritten));
  }
  // PL/pgSQL resolves NEW's fields when the function runs: it can be created
  // before the column exists.
  create_function(qfn, body);
  expand.sql.push_back(
      fmt::format("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}", table, c, type));
  if (record_writes) {
    // Sorts before the dual-write trigger ("dn" < "dw"): it fires first.
    create_trigger(
        names.named_trigger, "UPDATE OF " + c,
        fmt::format(" AND NEW.{0} IS NOT NULL AND NEW.{0} IS NOT DISTINCT FROM OLD.{0}", c),
        qnamed_fn);
  }
  create_trigger(names.trigger, "INSERT OR UPDATE", "", qfn);
  // All in one transaction: the trigger exists exactly when everything does.
  expand.done_check = fmt::format(
      "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {}::regclass AND tgname = {})",
      quote_literal(table), quote_literal(names.trigger));
  expand.lock = LockMode::kAccessExclusive;
  expand.estimate_note = "instant";
  std::vector<std::string> drop_dual_write = {
      fmt::format("DROP TRIGGER IF EXISTS {} ON {}", quote_ident(names.trigger), table),
      fmt::format("DROP FUNCTION IF EXISTS {}()", qfn)};
  if (record_writes) {
    drop_dual_write.push_back(
        fmt::format("DROP TRIGGER IF EXISTS {} ON {}", quote_ident(names.named_trigger), table));
    drop_dual_write.push_back(fmt::format("DROP FUNCTION IF EXISTS {}()", qnamed_fn));
    drop_dual_write.push_back(fmt::format("DROP TABLE IF EXISTS {}", qwritten));
  }
  drop_dual_write.push_back(
      fmt::format("DROP SEQUENCE IF EXISTS {}, {}, {}", qcounter, qlast, qfailures));
  expand.undo = drop_dual_write;
  expand.undo.push_back(fmt::format("ALTER TABLE {} DROP COLUMN IF EXISTS {}", table, c));
  expand.undo_lock = LockMode::kAccessExclusive;
  expand.undo_summary =
      fmt::format("drop column {} with its trigger {} (catalog only)", what, names.trigger);
  steps.push_back(expand);

  plan::BackfillSpec spec;
  spec.schema = t.schema;
  spec.table = t.name;
  spec.columns = {{col.name, type, expr, !col.nullable, col.check.value_or("")}};
  spec.key_columns = t.primary_key;
  spec.key_types = t.primary_key_types;

  // The planner merges the backfill steps of one table into one pass.
  Step fill =
      base(Phase::kBackfill, StepKind::kBackfill,
           fmt::format("backfill {} = {} for existing rows, in primary-key batches", what, expr));
  fill.backfill = spec;
  fill.lock = LockMode::kRowExclusive;
  fill.estimate_seconds = rows_at(t.row_estimate, kBackfillRowsPerSecond);
  fill.estimate_note =
      t.row_estimate < 0 ? "rows unknown" : fmt::format("{} rows", with_commas(t.row_estimate));
  fill.undo_summary = "nothing (the column is dropped)";
  steps.push_back(fill);

  Step quiet =
      base(Phase::kComplete, StepKind::kQuietCheck,
           fmt::format("check that no old app version still writes {} (so none breaks once it "
                       "is final)",
                       what));
  quiet.rank = plan::kCompleteRankQuietCheck;
  quiet.writers = plan::WriterCounters{t.name, col.name, qcounter, qlast, qfailures};
  quiet.lock_table.clear();
  quiet.undo_summary = "nothing";
  quiet.estimate_note = "instant";
  steps.push_back(quiet);

  if (!col.nullable) {
    Step missing = base(Phase::kComplete, StepKind::kFillMissing,
                        fmt::format("fill rows of {} still without a value (a failed 'up' in the "
                                    "trigger), or refuse naming them (scans)",
                                    what));
    missing.rank = plan::kCompleteRankFill;
    missing.backfill = spec;
    missing.lock = LockMode::kRowExclusive;
    missing.scans = true;
    missing.estimate_seconds = rows_at(t.row_estimate, kValidateRowsPerSecond);
    missing.undo_summary = "nothing (the column is dropped)";
    steps.push_back(missing);
    steps.push_back(check_step(names.not_null_check, c + " IS NOT NULL", "NOT NULL check"));
  }
  if (col.check) steps.push_back(check_step(user_check, *col.check, "CHECK"));

  Step contract = base(Phase::kComplete, StepKind::kTransactional,
                       fmt::format("contract {}: {}{}drop the dual-write trigger", what,
                                   col.nullable ? ""
                                   : facts.server_version >= kPgNotNullFromCheck
                                       ? "SET NOT NULL (proven by the check, no scan), "
                                       : "SET NOT NULL (scans the table: PostgreSQL < 12), ",
                                   col.default_expr ? "set default, " : ""));
  contract.rank = plan::kCompleteRankContract;
  contract.contract = true;
  if (!col.nullable) {
    contract.sql.push_back(fmt::format("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL", table, c));
    contract.sql.push_back(fmt::format("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}", table,
                                       quote_ident(names.not_null_check)));
    if (facts.server_version < kPgNotNullFromCheck) contract.scans = true;
  }
  if (col.default_expr) {
    contract.sql.push_back(
        fmt::format("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}", table, c, *col.default_expr));
  }
  contract.sql.insert(contract.sql.end(), drop_dual_write.begin(), drop_dual_write.end());
  // Recorded in the same transaction as its DDL: a re-run of complete after a
  // crash sees exactly whether it committed.
  contract.done_check = fmt::format(
      "SELECT NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {}::regclass AND tgname = {})",
      quote_literal(table), quote_literal(names.trigger));
  contract.lock = LockMode::kAccessExclusive;
  contract.estimate_note = contract.scans ? "scans on PostgreSQL < 12" : "instant";
  contract.estimate_seconds = contract.scans ? rows_at(t.row_estimate, kValidateRowsPerSecond) : 0;
  contract.undo_summary = "not undone by rollback once completed: the column is then the app's";
  steps.push_back(contract);
  return steps;
}

}  // namespace colshift::postgres
