#include "lint/facts.h"

#include <fmt/format.h>

namespace colshift::lint {

using ast::json;
using L = LockMode;

namespace {

struct Builder {
  const FileState& state;
  StatementFacts facts;

  RelationFact& add(const std::string& relation, L lock, const std::string& note = {}) {
    for (auto& r : facts.relations) {
      if (r.relation == relation) {
        r.lock = std::max(r.lock, lock);
        if (r.note.empty()) r.note = note;
        return r;
      }
    }
    RelationFact r;
    r.relation = relation;
    r.lock = lock;
    r.created_here = state.created_here(relation);
    r.note = note;
    facts.relations.push_back(r);
    return facts.relations.back();
  }
};

// WHERE true, WHERE 1 = 1 and the like filter nothing.
bool trivially_true(const json& where) {
  const json* c = ast::find(where, "A_Const");
  if (c && ast::find(*c, "boolval")) return (*c)["boolval"].value("boolval", false);
  const json* e = ast::find(where, "A_Expr");
  if (!e || ast::str(*e, "kind") != "AEXPR_OP") return false;
  return ast::member(*e, "lexpr") == ast::member(*e, "rexpr") &&
         ast::find(ast::obj(*e, "lexpr"), "A_Const") != nullptr &&
         ast::strings(ast::arr(*e, "name")) == std::vector<std::string>{"="};
}

// Every conjunct is column = column.
bool only_joins(const json& where) {
  if (const json* b = ast::find(where, "BoolExpr")) {
    if (ast::str(*b, "boolop") != "AND_EXPR") return false;
    for (const auto& arg : ast::arr(*b, "args")) {
      if (!only_joins(arg)) return false;
    }
    return true;
  }
  const json* e = ast::find(where, "A_Expr");
  if (!e || ast::str(*e, "kind") != "AEXPR_OP" ||
      ast::strings(ast::arr(*e, "name")) != std::vector<std::string>{"="}) {
    return false;
  }
  const json& l = ast::obj(ast::obj(*e, "lexpr"), "ColumnRef");
  const json& r = ast::obj(ast::obj(*e, "rexpr"), "ColumnRef");
  return !l.empty() && !r.empty();
}

std::string rel(const json& tree, const char* key = "relation") {
  return ast::relation_name(ast::obj(tree, key));
}

void alter_table(Builder& b, const json& tree, const FactsOptions& options) {
  std::string table = rel(tree);
  bool is_index = ast::str(tree, "objtype") == "OBJECT_INDEX";
  for (const auto& item : ast::arr(tree, "cmds")) {
    const json& cmd = ast::obj(item, "AlterTableCmd");
    CommandFacts cf = alter_command_facts(cmd, table, b.state, options);
    if (is_index && ast::str(cmd, "subtype") == "AT_SetTableSpace") cf.rewrite = true;
    RelationFact& r = b.add(table, cf.lock, cf.note);
    r.rewrite = r.rewrite || cf.rewrite;
    r.scan = r.scan || cf.scan;
    r.index_rebuild = r.index_rebuild || cf.index_rebuild;
    if (!cf.note.empty() && (cf.rewrite || cf.scan)) r.note = cf.note;
    std::string sub = ast::str(cmd, "subtype");
    const json& def = ast::obj(cmd, "def");
    if (sub == "AT_AddConstraint") {
      const json& con = ast::obj(def, "Constraint");
      if (ast::str(con, "contype") == "CONSTR_FOREIGN") {
        RelationFact& pk = b.add(rel(con, "pktable"), L::kShareRowExclusive,
                                 "referenced table: FK triggers added");
        // Validation joins every row against the referenced table.
        pk.scan = pk.scan || !ast::flag(con, "skip_validation");
      }
    } else if (sub == "AT_AddColumn") {
      // ADD COLUMN ... REFERENCES: the referenced table gets the FK's
      // triggers under SHARE ROW EXCLUSIVE (writes to it wait, reads do not).
      // Without a default every existing row is NULL, so PostgreSQL skips
      // the validation; with one it checks every row.
      const json& cd = ast::obj(def, "ColumnDef");
      bool has_default = false;
      const json* fk = nullptr;
      for (const auto& c : ast::arr(cd, "constraints")) {
        const json& con = ast::obj(c, "Constraint");
        std::string t = ast::str(con, "contype");
        if (t == "CONSTR_FOREIGN") fk = &con;
        if (t == "CONSTR_DEFAULT") has_default = true;
      }
      if (fk && table_key(rel(*fk, "pktable")) != table_key(table)) {
        RelationFact& pk = b.add(rel(*fk, "pktable"), L::kShareRowExclusive,
                                 "referenced table: FK triggers added");
        pk.scan = pk.scan || has_default;
        if (has_default) {
          RelationFact& own = b.add(table, cf.lock);
          own.scan = true;
          own.note = "the default fills every row, and every row is checked against the key";
        }
      }
    } else if (sub == "AT_AttachPartition" || sub == "AT_DetachPartition") {
      const json& pc = ast::obj(def, "PartitionCmd");
      bool concurrent = ast::flag(pc, "concurrent");
      RelationFact& part =
          b.add(rel(pc, "name"), concurrent ? L::kShareUpdateExclusive : L::kAccessExclusive);
      if (sub == "AT_AttachPartition") {
        part.scan = true;
        part.note = "scanned to prove the partition bound, unless a CHECK implies it";
      }
      if (concurrent) b.facts.in_transaction = false;
    }
  }
}

void drop(Builder& b, const json& tree) {
  std::string type = ast::str(tree, "removeType");
  bool concurrent = ast::flag(tree, "concurrent");
  if (concurrent) b.facts.in_transaction = false;
  if (type != "OBJECT_TABLE" && type != "OBJECT_INDEX" && type != "OBJECT_VIEW" &&
      type != "OBJECT_MATVIEW" && type != "OBJECT_SEQUENCE") {
    return;
  }
  for (const auto& obj : ast::arr(tree, "objects")) {
    std::string name = ast::dotted(ast::strings(ast::arr(ast::obj(obj, "List"), "items")));
    L lock = concurrent ? L::kShareUpdateExclusive : L::kAccessExclusive;
    b.add(name, lock, type == "OBJECT_INDEX" ? "and the same lock on the index's table" : "");
    if (type == "OBJECT_INDEX") {
      std::string table = b.state.table_of_index(name);
      if (!table.empty()) b.add(table, lock, "table of index " + name);
    }
  }
}

void index(Builder& b, const json& tree) {
  bool concurrent = ast::flag(tree, "concurrent");
  RelationFact& r = b.add(rel(tree), concurrent ? L::kShareUpdateExclusive : L::kShare);
  r.scan = true;
  r.note = concurrent ? "two scans, waiting for older transactions; blocks no reads or writes"
                      : "reads the whole table while blocking writes";
  if (concurrent) b.facts.in_transaction = false;
}

void reindex(Builder& b, const json& tree) {
  bool concurrent = ast::has_option(tree, "params", "concurrently");
  if (concurrent) b.facts.in_transaction = false;
  std::string kind = ast::str(tree, "kind");
  std::string name = rel(tree);
  if (name.empty()) name = ast::str(tree, "name");
  if (kind == "REINDEX_OBJECT_INDEX") {
    // The index gets a new file; its table is read to build it.
    RelationFact& idx = b.add(name, concurrent ? L::kShareUpdateExclusive : L::kAccessExclusive);
    idx.rewrite = true;
    idx.note = concurrent ? "built anew beside the old one, then swapped"
                          : "locked ACCESS EXCLUSIVE: queries that would use it wait";
    std::string table = b.state.table_of_index(name);
    if (!table.empty()) {
      RelationFact& r =
          b.add(table, concurrent ? L::kShareUpdateExclusive : L::kShare, "table of index " + name);
      r.scan = true;
    }
    return;
  }
  // REINDEX TABLE (and SCHEMA/DATABASE/SYSTEM, named by `name`): every index
  // is rebuilt from a scan of the table; the table's own file is kept. Each
  // index is locked ACCESS EXCLUSIVE until commit, and the planner opens
  // every index of a table it plans a query for: reads wait too.
  RelationFact& r = b.add(name, concurrent ? L::kShareUpdateExclusive : L::kShare);
  r.scan = kind == "REINDEX_OBJECT_TABLE";
  r.index_rebuild = true;
  r.note = concurrent ? "indexes are rebuilt beside the old ones, then swapped"
                      : "each index is locked ACCESS EXCLUSIVE while rebuilt: queries that plan "
                        "on the table wait";
  if (kind != "REINDEX_OBJECT_TABLE") return;
  bool live = !r.created_here;
  for (const auto& idx : b.state.indexes_of(name)) {
    RelationFact& f = b.add(idx, concurrent ? L::kShareUpdateExclusive : L::kAccessExclusive,
                            concurrent ? "built anew beside the old one, then swapped"
                                       : "index of " + name + ", rebuilt into a new file");
    f.rewrite = true;
    f.created_here = f.created_here || !live;
  }
}

void vacuum(Builder& b, const json& tree) {
  bool full = ast::has_option(tree, "options", "full");
  bool is_vacuum = ast::flag(tree, "is_vacuumcmd");
  if (is_vacuum) b.facts.in_transaction = false;
  for (const auto& r : ast::arr(tree, "rels")) {
    const json& vr = ast::obj(r, "VacuumRelation");
    RelationFact& f = b.add(rel(vr), full ? L::kAccessExclusive : L::kShareUpdateExclusive);
    f.rewrite = full;
    f.scan = is_vacuum;  // ANALYZE alone reads a sample of rows
    if (!is_vacuum) f.note = "reads a sample of rows";
  }
}

void dml(Builder& b, const Statement& st) {
  std::string table = rel(st.tree);
  RelationFact& r = b.add(table, L::kRowExclusive);
  if (st.kind != "InsertStmt" && touches_every_row(st.tree)) {
    r.scan = true;
    r.note = "touches every row";
  }
}

}  // namespace

bool touches_every_row(const json& tree) {
  const json* where = ast::find(tree, "whereClause");
  if (!where || trivially_true(*where)) return true;
  // UPDATE a SET ... FROM b WHERE a.id = b.id (USING for DELETE): a join
  // and nothing else keeps every row of a that has a partner in b.
  bool joined = !ast::arr(tree, "fromClause").empty() || !ast::arr(tree, "usingClause").empty();
  return joined && only_joins(*where);
}

StatementFacts compute_facts(const Statement& st, const FileState& state,
                             const FactsOptions& options) {
  Builder b{state, {}};
  const json& t = st.tree;
  const std::string& k = st.kind;
  if (k == "AlterTableStmt") {
    alter_table(b, t, options);
  } else if (k == "RenameStmt") {
    std::string type = ast::str(t, "renameType");
    bool index = type == "OBJECT_INDEX";
    if (ast::find(t, "relation")) {
      b.add(rel(t),
            index && options.pg_version >= 120000 ? L::kShareUpdateExclusive : L::kAccessExclusive);
    }
  } else if (k == "IndexStmt") {
    index(b, t);
  } else if (k == "DropStmt") {
    drop(b, t);
  } else if (k == "TruncateStmt") {
    // A new, empty file (and empty indexes) replace the old: no row is read
    // or copied, so it is no rewrite; instant once the lock is granted.
    for (const auto& r : ast::arr(t, "relations")) {
      RelationFact& f = b.add(ast::relation_name(r), L::kAccessExclusive,
                              "gets a new, empty file; no row is read or copied");
      f.new_file = true;
    }
  } else if (k == "ReindexStmt") {
    reindex(b, t);
  } else if (k == "VacuumStmt") {
    vacuum(b, t);
  } else if (k == "ClusterStmt") {
    RelationFact& r = b.add(rel(t), L::kAccessExclusive);
    r.rewrite = r.scan = true;
  } else if (k == "RefreshMatViewStmt") {
    bool concurrent = ast::flag(t, "concurrent");
    // The view's query reads its base tables under ACCESS SHARE. Without
    // CONCURRENTLY the view gets a new file; with it the old contents are
    // read and diffed against the new.
    RelationFact& r = b.add(rel(t), concurrent ? L::kExclusive : L::kAccessExclusive);
    r.scan = concurrent;
    r.rewrite = !concurrent;
    r.note = concurrent ? "old rows diffed against the query's result" : "refilled from its query";
  } else if (k == "LockStmt") {
    L mode = static_cast<L>(std::clamp(t.value("mode", 8), 1, 8));
    for (const auto& r : ast::arr(t, "relations")) b.add(ast::relation_name(r), mode);
  } else if (k == "CreateTrigStmt") {
    b.add(rel(t), L::kShareRowExclusive);
  } else if (k == "RuleStmt" || k == "CreatePolicyStmt" || k == "AlterPolicyStmt") {
    b.add(rel(t, k == "RuleStmt" ? "relation" : "table"), L::kAccessExclusive);
  } else if (k == "CreateStmt") {
    std::string table = rel(t);
    RelationFact& r = b.add(table, L::kAccessExclusive, "new table");
    r.created_here = true;
    for (const auto& inh : ast::arr(t, "inhRelations")) {
      b.add(ast::relation_name(inh), L::kAccessExclusive,
            ast::find(t, "partbound") ? "partition parent" : "inheritance parent");
    }
    ast::walk(ast::arr(t, "tableElts"), [&](const std::string& key, const json& v) {
      if (key == "Constraint" && ast::str(v, "contype") == "CONSTR_FOREIGN") {
        std::string target = rel(v, "pktable");
        if (table_key(target) != table_key(table))
          b.add(target, L::kShareRowExclusive, "referenced table");
      }
    });
  } else if (k == "CreateTableAsStmt" || (k == "SelectStmt" && ast::find(t, "intoClause"))) {
    // CREATE TABLE ... AS / SELECT ... INTO: a new table, filled by the query.
    std::string name = ast::into_table(t, k == "SelectStmt" ? "intoClause" : "into");
    if (!name.empty() && ast::str(t, "objtype") != "OBJECT_MATVIEW") {
      RelationFact& r = b.add(name, L::kAccessExclusive, "new table, filled by the query");
      r.created_here = true;
    }
  } else if (k == "UpdateStmt" || k == "DeleteStmt" || k == "InsertStmt") {
    dml(b, st);
  } else if (k == "CommentStmt") {
    std::string type = ast::str(t, "objtype");
    if (type == "OBJECT_TABLE" || type == "OBJECT_COLUMN") {
      auto parts = ast::strings(ast::arr(ast::obj(ast::obj(t, "object"), "List"), "items"));
      if (type == "OBJECT_COLUMN" && !parts.empty()) parts.pop_back();
      std::string name = ast::dotted(parts);
      if (!name.empty()) b.add(name, L::kShareUpdateExclusive);
    }
  } else if (k == "AlterEnumStmt") {
    if (options.pg_version < 120000) b.facts.in_transaction = false;
  } else if (k == "CreatedbStmt" || k == "DropdbStmt" || k == "AlterSystemStmt") {
    b.facts.in_transaction = false;
  }
  b.facts.lock_timeout = state.lock_timeout();
  return b.facts;
}

}  // namespace colshift::lint
