// Constraints: NOT VALID then VALIDATE, unique/primary keys via an index
// built concurrently, foreign keys and their indexes, partitions, domains.
#include <fmt/format.h>

#include "lint/rule_helpers.h"

namespace colshift::lint {

using ast::json;

namespace {

// An index on `table` whose leading columns are `cols` is created later in
// the file (CREATE INDEX, or a PRIMARY KEY/UNIQUE constraint).
bool index_created_later(const RuleContext& ctx, const std::string& table,
                         const std::vector<std::string>& cols) {
  const auto& all = ctx.statements();
  for (size_t i = static_cast<size_t>(ctx.index()) + 1; i < all.size(); ++i) {
    const auto& s = all[i];
    if (s.kind != "IndexStmt" || table_key(ast::relation_name(s.tree.value(
                                     "relation", json::object()))) != table_key(table)) {
      continue;
    }
    std::vector<std::string> key;
    for (const auto& p : ast::arr(s.tree, "indexParams")) {
      key.push_back(ast::str(ast::obj(p, "IndexElem"), "name"));
    }
    if (key.size() >= cols.size() && std::equal(cols.begin(), cols.end(), key.begin())) return true;
  }
  return false;
}

// This ALTER TABLE itself adds a PRIMARY KEY or UNIQUE constraint whose
// leading columns are `cols`.
bool index_added_by_statement(const RuleContext& ctx, const std::vector<std::string>& cols) {
  bool found = false;
  for_each_alter(ctx, [&](const AlterCmd& c) {
    const json& con = ast::obj(c.def, "Constraint");
    std::string t = ast::str(con, "contype");
    if (c.subtype != "AT_AddConstraint" || (t != "CONSTR_PRIMARY" && t != "CONSTR_UNIQUE")) return;
    auto key = ast::strings(ast::arr(con, "keys"));
    if (key.size() >= cols.size() && std::equal(cols.begin(), cols.end(), key.begin()))
      found = true;
  });
  return found;
}

void check_foreign_key_index(RuleContext& ctx, const std::string& table, const json& con,
                             const std::vector<std::string>& cols) {
  if (cols.empty() || ctx.state().has_index_on(table, cols) ||
      index_created_later(ctx, table, cols) || index_added_by_statement(ctx, cols)) {
    return;
  }
  std::string list;
  for (const auto& c : cols) list += (list.empty() ? "" : ", ") + c;
  ctx.report("foreign-key-without-index",
             fmt::format("No index on \"{}\" ({}) supports this foreign key: every DELETE or key "
                         "UPDATE on \"{}\" scans \"{}\".",
                         table, list, ast::relation_name(ast::obj(con, "pktable")), table),
             ast::location(con));
}

// A CHECK constraint on `partition` was added (and is validated) earlier in the file.
bool partition_has_check(const RuleContext& ctx, const std::string& partition) {
  for (int i = 0; i < ctx.index(); ++i) {
    const auto& s = ctx.statements()[static_cast<size_t>(i)];
    if (s.kind != "AlterTableStmt" || table_key(ast::relation_name(s.tree.value(
                                          "relation", json::object()))) != table_key(partition)) {
      continue;
    }
    for (const auto& item : ast::arr(s.tree, "cmds")) {
      const json& cmd = ast::obj(item, "AlterTableCmd");
      std::string sub = ast::str(cmd, "subtype");
      const json& con = ast::obj(ast::obj(cmd, "def"), "Constraint");
      if (sub == "AT_ValidateConstraint") return true;
      if (sub == "AT_AddConstraint" && ast::str(con, "contype") == "CONSTR_CHECK" &&
          !ast::flag(con, "skip_validation")) {
        return true;
      }
    }
  }
  return false;
}

void check_add_constraint(RuleContext& ctx, const AlterCmd& c) {
  const json& con = ast::obj(c.def, "Constraint");
  std::string type = ast::str(con, "contype");
  std::string name = ast::str(con, "conname");
  bool not_valid = ast::flag(con, "skip_validation");
  int loc = ast::location(con);
  std::string label = name.empty() ? "" : " \"" + name + "\"";
  if (type == "CONSTR_FOREIGN") {
    check_foreign_key_index(ctx, c.table, con, ast::strings(ast::arr(con, "fk_attrs")));
    if (!not_valid && ctx.live(c.table)) {
      ctx.report(
          "foreign-key-missing-not-valid",
          fmt::format("Adding foreign key{} validates every row of \"{}\" while blocking writes "
                      "to it and to \"{}\".",
                      label, c.table, ast::relation_name(ast::obj(con, "pktable"))),
          loc);
    }
    return;
  }
  if (!ctx.live(c.table)) return;
  if (type == "CONSTR_CHECK" && !not_valid) {
    ctx.report(
        "constraint-missing-not-valid",
        fmt::format("Adding CHECK constraint{} scans all of \"{}\" under an ACCESS EXCLUSIVE "
                    "lock.",
                    label, c.table),
        loc);
  } else if ((type == "CONSTR_UNIQUE" || type == "CONSTR_PRIMARY") &&
             ast::str(con, "indexname").empty()) {
    ctx.report(
        type == "CONSTR_UNIQUE" ? "unique-constraint-without-index" : "primary-key-without-index",
        fmt::format("Adding {}{} builds its index on \"{}\" under an ACCESS EXCLUSIVE lock, "
                    "blocking reads and writes for the whole build.",
                    type == "CONSTR_UNIQUE" ? "UNIQUE constraint" : "PRIMARY KEY", label, c.table),
        loc);
  } else if (type == "CONSTR_PRIMARY") {
    auto keys = ast::strings(ast::arr(con, "keys"));
    if (keys.empty()) {
      auto cols = ctx.state().index_columns(ast::str(con, "indexname"));
      if (!cols) {
        ctx.report("primary-key-using-index-scan",
                   fmt::format("PRIMARY KEY USING INDEX on \"{}\" scans the table under an ACCESS "
                               "EXCLUSIVE lock unless the index's columns are already NOT NULL; "
                               "colshift cannot see them.",
                               c.table),
                   loc);
        return;
      }
      keys = *cols;
    }
    for (const auto& k : keys) {
      if (ctx.state().not_null_proven(c.table, k)) continue;
      ctx.report(
          "primary-key-using-index-scan",
          fmt::format("PRIMARY KEY USING INDEX on \"{}\" first makes \"{}\" NOT NULL, scanning "
                      "the table under an ACCESS EXCLUSIVE lock.",
                      c.table, k),
          loc);
      break;
    }
  } else if (type == "CONSTR_EXCLUSION") {
    ctx.report(
        "exclusion-constraint",
        fmt::format("Adding exclusion constraint{} builds its index on \"{}\" under an ACCESS "
                    "EXCLUSIVE lock; it cannot be built concurrently.",
                    label, c.table),
        loc);
  }
}

// ADD COLUMN ... REFERENCES: the new column needs its index like any
// foreign key; with a default every row is also checked against the key.
void check_add_column_reference(RuleContext& ctx, const AlterCmd& c) {
  const json& cd = ast::obj(c.def, "ColumnDef");
  const json* fk = column_constraint(cd, "CONSTR_FOREIGN");
  if (!fk) return;
  std::string col = ast::str(cd, "colname");
  if (!column_has(cd, "CONSTR_PRIMARY") && !column_has(cd, "CONSTR_UNIQUE"))
    check_foreign_key_index(ctx, c.table, *fk, {col});
  if (column_has(cd, "CONSTR_DEFAULT") && ctx.live(c.table)) {
    ctx.report("foreign-key-missing-not-valid",
               fmt::format("ADD COLUMN \"{}\" ... REFERENCES with a default checks every row of "
                           "\"{}\" against \"{}\" while holding ACCESS EXCLUSIVE on \"{}\" and "
                           "blocking writes to \"{}\".",
                           col, c.table, ast::relation_name(ast::obj(*fk, "pktable")), c.table,
                           ast::relation_name(ast::obj(*fk, "pktable"))),
               ast::location(*fk),
               "Add the column without the default and without REFERENCES, add the foreign key "
               "NOT VALID, fill the column in batches, then VALIDATE CONSTRAINT.");
  }
}

void check(RuleContext& ctx) {
  const auto& st = ctx.st();
  for_each_alter(ctx, [&](const AlterCmd& c) {
    if (c.subtype == "AT_AddConstraint") check_add_constraint(ctx, c);
    if (c.subtype == "AT_AddColumn") check_add_column_reference(ctx, c);
    if (c.subtype == "AT_ValidateConstraint" &&
        ctx.state().not_valid_added_in_transaction(c.table, ast::str(c.cmd, "name"))) {
      ctx.report(
          "validate-in-same-transaction",
          fmt::format("VALIDATE CONSTRAINT \"{}\" runs in the same transaction that added it NOT "
                      "VALID, so the strong lock is still held during the scan.",
                      ast::str(c.cmd, "name")));
    }
    const json& pc = ast::obj(c.def, "PartitionCmd");
    std::string part = ast::relation_name(ast::obj(pc, "name"));
    if (c.subtype == "AT_AttachPartition" && ctx.live(part) && !partition_has_check(ctx, part)) {
      ctx.report(
          "attach-partition-without-check",
          fmt::format("ATTACH PARTITION scans \"{}\" under an ACCESS EXCLUSIVE lock to prove the "
                      "bound; no validated CHECK on it implies the bound.",
                      part));
    }
    if (c.subtype == "AT_DetachPartition" && !ast::flag(pc, "concurrent") &&
        ctx.pg_version() >= 140000 && ctx.live(c.table)) {
      ctx.report(
          "detach-partition-not-concurrently",
          fmt::format("DETACH PARTITION \"{}\" takes an ACCESS EXCLUSIVE lock on parent \"{}\", "
                      "blocking all queries on every partition.",
                      part, c.table));
    }
  });
  if (st.kind == "CreateStmt") {
    std::string table = ast::relation_name(ast::obj(st.tree, "relation"));
    for (const auto& elt : ast::arr(st.tree, "tableElts")) {
      if (const json* con = ast::find(elt, "Constraint");
          con && ast::str(*con, "contype") == "CONSTR_FOREIGN") {
        check_foreign_key_index(ctx, table, *con, ast::strings(ast::arr(*con, "fk_attrs")));
      }
      if (const json* cd = ast::find(elt, "ColumnDef")) {
        const json* fk = column_constraint(*cd, "CONSTR_FOREIGN");
        bool indexed = column_has(*cd, "CONSTR_PRIMARY") || column_has(*cd, "CONSTR_UNIQUE");
        if (fk && !indexed) check_foreign_key_index(ctx, table, *fk, {ast::str(*cd, "colname")});
      }
    }
  }
  if (st.kind == "CreateDomainStmt" && ast::find(st.tree, "constraints")) {
    for (const auto& c : st.tree["constraints"]) {
      if (ast::str(ast::obj(c, "Constraint"), "contype") == "CONSTR_CHECK") {
        ctx.report(
            "create-domain-with-constraint",
            "A CHECK on a domain is validated against every column of every table that uses the "
            "domain whenever it is changed, with no NOT VALID escape for columns added later.");
        break;
      }
    }
  }
  if (st.kind == "AlterDomainStmt" && ast::str(st.tree, "subtype") == "C") {
    const json& con = ast::obj(ast::obj(st.tree, "def"), "Constraint");
    if (!ast::flag(con, "skip_validation")) {
      ctx.report(
          "alter-domain-add-constraint",
          "ALTER DOMAIN ADD CONSTRAINT scans every table column of this domain while blocking "
          "writes to those tables.");
    }
  }
}

}  // namespace

const RuleFamily& constraint_rules() {
  static const RuleFamily family{
      "constraints",
      {
          {"constraint-missing-not-valid", Severity::kError,
           "Adding a CHECK constraint scans the table under an ACCESS EXCLUSIVE lock.",
           "Without NOT VALID, PostgreSQL checks every existing row while holding ACCESS "
           "EXCLUSIVE, "
           "blocking reads and writes for a full scan.",
           "ADD CONSTRAINT ... NOT VALID (instant; new rows are checked), then VALIDATE CONSTRAINT "
           "in a "
           "separate transaction: it takes only SHARE UPDATE EXCLUSIVE.",
           "ALTER TABLE orders ADD CONSTRAINT qty_pos CHECK (qty > 0);",
           "ALTER TABLE orders ADD CONSTRAINT qty_pos CHECK (qty > 0) NOT VALID;\nALTER TABLE "
           "orders VALIDATE CONSTRAINT qty_pos;",
           "squawk: constraint-missing-not-valid; strong_migrations: add_check_constraint; eugene: "
           "E1"},
          {"foreign-key-missing-not-valid", Severity::kError,
           "Adding a foreign key validates every row while blocking writes to both tables.",
           "ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE on the table and the referenced table and "
           "scans "
           "the table to check every row, so writes to both wait for the scan.",
           "ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, then VALIDATE CONSTRAINT in a later "
           "transaction "
           "(SHARE UPDATE EXCLUSIVE; writes continue).",
           "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES "
           "users (id);",
           "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES "
           "users (id) NOT VALID;\n"
           "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;",
           "squawk: adding-foreign-key-constraint; strong_migrations: add_foreign_key; eugene: E1"},
          {"foreign-key-without-index", Severity::kWarning,
           "A foreign key without an index on its columns makes deletes on the referenced table "
           "scan this one.",
           "PostgreSQL indexes the referenced key but not the referencing columns. Every DELETE "
           "(or key "
           "UPDATE) on the referenced table then scans the referencing table, and locks pile up.",
           "CREATE INDEX CONCURRENTLY on the referencing columns (colshift `create_index`).",
           "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));",
           "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users "
           "(id));\nCREATE INDEX orders_user_id_idx ON orders (user_id);",
           "strong_migrations: add_reference (index)"},
          {"validate-in-same-transaction", Severity::kWarning,
           "VALIDATE in the same transaction as ADD ... NOT VALID keeps the strong lock during the "
           "scan.",
           "The point of NOT VALID is to release ADD CONSTRAINT's strong lock before the long "
           "validation. "
           "In one transaction the ADD's lock is held until COMMIT, so the scan blocks everything "
           "anyway.",
           "COMMIT between ADD CONSTRAINT ... NOT VALID and VALIDATE CONSTRAINT.",
           "BEGIN;\nALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE t "
           "VALIDATE CONSTRAINT c;\nCOMMIT;",
           "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE t VALIDATE "
           "CONSTRAINT c;",
           "squawk: constraint-missing-not-valid (same transaction)"},
          {"unique-constraint-without-index", Severity::kError,
           "ADD CONSTRAINT ... UNIQUE builds its index under an ACCESS EXCLUSIVE lock.",
           "The index behind the constraint is built while the table is locked against reads and "
           "writes.",
           "CREATE UNIQUE INDEX CONCURRENTLY (colshift `create_index` with unique), then ADD "
           "CONSTRAINT "
           "... UNIQUE USING INDEX (instant).",
           "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
           "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\nALTER TABLE users "
           "ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
           "squawk: disallowed-unique-constraint; strong_migrations: add_unique_constraint; "
           "eugene: E7; Atlas: PG305, MF101"},
          {"primary-key-without-index", Severity::kError,
           "ADD PRIMARY KEY builds its index under an ACCESS EXCLUSIVE lock.",
           "The unique index is built (and the columns made NOT NULL) while reads and writes are "
           "blocked.",
           "CREATE UNIQUE INDEX CONCURRENTLY, make the columns NOT NULL via a validated CHECK, "
           "then ADD "
           "PRIMARY KEY USING INDEX.",
           "ALTER TABLE items ADD PRIMARY KEY (id);",
           "CREATE UNIQUE INDEX CONCURRENTLY items_pkey ON items (id);\nALTER TABLE items ADD "
           "CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_pkey;",
           "squawk: adding-serial-primary-key-field; Atlas: PG304"},
          {"primary-key-using-index-scan", Severity::kWarning,
           "PRIMARY KEY USING INDEX on nullable columns scans the table under an ACCESS EXCLUSIVE "
           "lock.",
           "A primary key implies NOT NULL. If the columns are not already NOT NULL (or proven by "
           "a "
           "validated CHECK on PostgreSQL 12+), PostgreSQL scans the table while holding ACCESS "
           "EXCLUSIVE.",
           "Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, SET NOT NULL, then ADD PRIMARY KEY "
           "USING INDEX.",
           "ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_pkey;",
           "CREATE UNIQUE INDEX CONCURRENTLY items_pkey ON items (id);\n"
           "ALTER TABLE items ADD CONSTRAINT id_nn CHECK (id IS NOT NULL) NOT VALID;\nALTER TABLE "
           "items VALIDATE CONSTRAINT id_nn;\nALTER TABLE items ALTER COLUMN id SET NOT "
           "NULL;\nALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_pkey;",
           "eugene: W14"},
          {"exclusion-constraint", Severity::kError,
           "An exclusion constraint is built under an ACCESS EXCLUSIVE lock and cannot be built "
           "concurrently.",
           "There is no CONCURRENTLY or USING INDEX form for exclusion constraints: the index is "
           "built while "
           "reads and writes are blocked.",
           "Add it when the table is created or small, or during a maintenance window.",
           "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during "
           "WITH &&);",
           "-- on a new table: CREATE TABLE bookings (..., EXCLUDE USING gist (...));",
           "strong_migrations: add_exclusion_constraint; eugene: E8"},
          {"create-domain-with-constraint", Severity::kWarning,
           "A CHECK on a domain cannot be added or changed later without scanning every table "
           "using it.",
           "Domain constraints are validated against all columns of the domain on every change, "
           "with "
           "table locks held; there is no cheap way to evolve them.",
           "Put CHECK constraints on the table columns (NOT VALID, then VALIDATE).",
           "CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);",
           "CREATE DOMAIN positive_int AS int;", "squawk: ban-create-domain-with-constraint"},
          {"alter-domain-add-constraint", Severity::kWarning,
           "ALTER DOMAIN ADD CONSTRAINT scans every column of the domain while blocking writes.",
           "PostgreSQL checks every table column of the domain, locking those tables.",
           "Use ADD CONSTRAINT ... NOT VALID then VALIDATE CONSTRAINT, or table-level CHECKs.",
           "ALTER DOMAIN positive_int ADD CONSTRAINT pos CHECK (VALUE > 0);",
           "ALTER DOMAIN positive_int ADD CONSTRAINT pos CHECK (VALUE > 0) NOT VALID;",
           "squawk: ban-alter-domain-with-add-constraint"},
          {"attach-partition-without-check", Severity::kWarning,
           "ATTACH PARTITION scans the partition under an ACCESS EXCLUSIVE lock unless a CHECK "
           "implies the bound.",
           "PostgreSQL proves that every row of the new partition fits the bound by scanning it "
           "(and any "
           "default partition) while holding ACCESS EXCLUSIVE on it. A validated CHECK constraint "
           "that "
           "implies the bound lets it skip the scan.",
           "ADD CONSTRAINT ... CHECK (bound) NOT VALID and VALIDATE it on the table first, then "
           "ATTACH, "
           "then drop the CHECK.",
           "ALTER TABLE m ATTACH PARTITION m_2024 FOR VALUES FROM ('2024-01-01') TO "
           "('2025-01-01');",
           "ALTER TABLE m_2024 ADD CONSTRAINT b CHECK (at >= '2024-01-01' AND at < '2025-01-01') "
           "NOT VALID;\n"
           "ALTER TABLE m_2024 VALIDATE CONSTRAINT b;\nALTER TABLE m ATTACH PARTITION m_2024 FOR "
           "VALUES FROM ('2024-01-01') TO ('2025-01-01');",
           ""},
          {"detach-partition-not-concurrently", Severity::kWarning,
           "DETACH PARTITION without CONCURRENTLY blocks all queries on the partitioned table.",
           "Plain DETACH takes ACCESS EXCLUSIVE on the parent. From PostgreSQL 14, DETACH ... "
           "CONCURRENTLY "
           "takes only SHARE UPDATE EXCLUSIVE.",
           "ALTER TABLE parent DETACH PARTITION p CONCURRENTLY, outside a transaction.",
           "ALTER TABLE m DETACH PARTITION m_2020;",
           "ALTER TABLE m DETACH PARTITION m_2020 CONCURRENTLY;",
           "squawk: require-concurrent-partition-detach"},
      },
      check};
  return family;
}

}  // namespace colshift::lint
