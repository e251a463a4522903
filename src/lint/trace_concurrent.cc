// Tracing CREATE INDEX CONCURRENTLY, which cannot run in the trace's
// transaction: it runs on a throwaway copy of its table, and its locks are
// sampled from pg_locks while it waits for a writer's open transaction.
#include <fmt/format.h>

#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "lint/ast.h"
#include "lint/file_state.h"
#include "lint/trace_internal.h"
#include "pg/pg_connection.h"

namespace colshift::lint {

namespace {

// The end of the (possibly qualified, possibly quoted) name starting at `at`.
size_t name_end(const std::string& text, size_t at) {
  size_t i = at;
  while (i < text.size()) {
    if (text[i] == '"') {
      size_t close = text.find('"', i + 1);
      while (close != std::string::npos && close + 1 < text.size() && text[close + 1] == '"') {
        close = text.find('"', close + 2);
      }
      i = close == std::string::npos ? text.size() : close + 1;
    } else if (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_' ||
               text[i] == '$' || static_cast<unsigned char>(text[i]) >= 0x80) {
      ++i;
    } else {
      break;
    }
    if (i < text.size() && text[i] == '.')
      ++i;
    else if (i < text.size() && text[i] != '"' &&
             !std::isalnum(static_cast<unsigned char>(text[i])) && text[i] != '_')
      break;
  }
  return i;
}

// The statement with the table named by RangeVar `rv` replaced by `copy`,
// and (when `idx` is given) the index name `idx` by `copy`_idx; "" when the
// names cannot be found in the text.
std::string retarget(const Statement& st, const ast::json& rv, const std::string& copy,
                     const std::string& idx) {
  int loc = ast::location(rv);
  if (loc < 0 || st.tree_base + static_cast<size_t>(loc) < st.offset) return {};
  size_t at = st.tree_base + static_cast<size_t>(loc) - st.offset;
  if (at >= st.text.size()) return {};
  std::string sql = st.text.substr(0, at) + copy + st.text.substr(name_end(st.text, at));
  if (idx.empty()) return sql;
  size_t pos = sql.rfind(idx, at);
  if (pos == std::string::npos) return {};
  return sql.substr(0, pos) + copy + "_idx" + sql.substr(pos + idx.size());
}

// How one non-transactional statement is replayed on a copy.
struct CopyPlan {
  std::string table;       // the real table that is copied
  std::string index;       // the real index the statement names, if any
  std::string sql;         // the statement, pointed at the copy
  std::string blocker;     // lock mode the blocking session holds on the copy
  bool scan_known = true;  // whether pg_stat's seq_scan counts this kind of read
  std::string skip;        // why it cannot be traced
};

// `copy` is the name the copy of the table will have; its copy of the index
// is `copy`_idx. Index-building statements wait for a writer's open
// transaction (the blocker holds ROW EXCLUSIVE), so the locks they were
// granted are sampled while they wait. VACUUM does not wait for writers: the
// blocker holds SHARE UPDATE EXCLUSIVE and the lock VACUUM asks for is
// sampled while it waits for that.
CopyPlan plan_copy(Connection& conn, const Statement& st, const std::string& copy) {
  CopyPlan p;
  p.blocker = "ROW EXCLUSIVE";
  const auto& t = st.tree;
  auto table_of = [&](const std::string& index) {
    auto r = conn.exec(
        "SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = to_regclass($1)",
        {index});
    return r.empty() ? std::string() : r.text(0, 0);
  };
  if (st.kind == "IndexStmt" && ast::flag(t, "concurrent")) {
    p.table = ast::relation_name(ast::obj(t, "relation"));
    p.sql = retarget(st, ast::obj(t, "relation"), copy, ast::str(t, "idxname"));
  } else if (st.kind == "VacuumStmt" && ast::arr(t, "rels").size() == 1) {
    const auto& rv = ast::obj(ast::obj(ast::arr(t, "rels")[0], "VacuumRelation"), "relation");
    p.table = ast::relation_name(rv);
    p.sql = retarget(st, rv, copy, {});
    p.blocker = "SHARE UPDATE EXCLUSIVE";
    p.scan_known = false;  // VACUUM reads every page but is not counted in seq_scan
  } else if (st.kind == "ReindexStmt" && ast::has_option(t, "params", "concurrently")) {
    std::string kind = ast::str(t, "kind");
    std::string name = ast::relation_name(ast::obj(t, "relation"));
    if (kind == "REINDEX_OBJECT_TABLE") {
      p.table = name;
      p.sql = "REINDEX TABLE CONCURRENTLY " + copy;
    } else if (kind == "REINDEX_OBJECT_INDEX") {
      p.index = name;
      p.table = table_of(name);
      p.sql = "REINDEX INDEX CONCURRENTLY " + copy + "_idx";
    }
  } else if (st.kind == "DropStmt" && ast::flag(t, "concurrent") &&
             ast::str(t, "removeType") == "OBJECT_INDEX" && ast::arr(t, "objects").size() == 1) {
    std::string name =
        ast::dotted(ast::strings(ast::arr(ast::obj(ast::arr(t, "objects")[0], "List"), "items")));
    p.index = name;
    p.table = table_of(name);
    p.sql = "DROP INDEX CONCURRENTLY " + copy + "_idx";
  } else {
    p.skip =
        "cannot run in a transaction; traced on a copy are CREATE INDEX, REINDEX and DROP INDEX "
        "CONCURRENTLY and single-table VACUUM";
    return p;
  }
  if (p.table.empty()) p.skip = "its index or table is not in the database";
  return p;
}

// The current relfilenode of relation `name`; "" when it does not exist.
std::string filenode(Connection& conn, const std::string& name) {
  auto r = conn.exec("SELECT pg_relation_filenode(to_regclass($1))::text", {name});
  return r.empty() ? std::string() : r.text(0, 0);
}

struct DropCopy {
  Connection& aux;
  std::string copy;
  ~DropCopy() {
    try {
      aux.exec("DROP TABLE IF EXISTS " + copy);
    } catch (...) {
    }
  }
};

}  // namespace

TraceStatement trace_outside_transaction(const std::string& conninfo, const FileReport& report,
                                         int index) {
  const Statement& st = report.statements[static_cast<size_t>(index)];
  const StatementFacts& facts = report.facts[static_cast<size_t>(index)];
  TraceStatement t;
  t.index = index;
  t.status = "skipped";
  auto aux = pg::PgConnection::connect({conninfo, "colshift lint trace", 10});
  aux->exec("SET lock_timeout = '5s'");
  std::string copy = fmt::format("colshift_trace_{}_{}", aux->backend_pid(), index);
  CopyPlan plan = plan_copy(*aux, st, copy);
  if (!plan.skip.empty()) {
    t.detail = plan.skip;
    return t;
  }
  // It runs after the trace's transaction is rolled back (a concurrent index
  // build waits for every older snapshot in the database, the trace's own
  // included), on a copy of the committed table. An earlier statement of the
  // file that changed that table would make the copy the wrong shape.
  for (int i = 0; i < index; ++i) {
    for (const auto& r : report.facts[static_cast<size_t>(i)].relations) {
      if (table_key(r.relation) == table_key(plan.table) &&
          (r.created_here || r.lock >= LockMode::kShareUpdateExclusive)) {
        t.detail =
            "an earlier statement of this file changes its table, so a copy of the "
            "committed table would not match";
        return t;
      }
    }
  }
  if (aux->exec("SELECT to_regclass($1) IS NULL", {plan.table}).boolean(0, 0)) {
    t.detail =
        "its table is not committed in the database (created in this file?), so no copy can be "
        "made";
    return t;
  }
  if (plan.sql.empty()) {
    t.detail = "could not point the statement at a copy of its table";
    return t;
  }
  if (plan.index.empty()) {
    aux->exec(fmt::format("CREATE TABLE {} (LIKE {} INCLUDING ALL)", copy, plan.table));
  } else {
    // The copy gets just that index, built the same way, as <copy>_idx.
    auto def = aux->exec(
        "SELECT i.indisunique, substring(pg_get_indexdef(i.indexrelid) from ' USING .*$') "
        "FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
        {plan.index});
    if (def.empty() || !def.at(0, 1)) {
      t.detail = "could not read the definition of index " + plan.index;
      return t;
    }
    aux->exec(
        fmt::format("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)", copy, plan.table));
    aux->exec(fmt::format("CREATE {}INDEX {}_idx ON {}{}", def.boolean(0, 0) ? "UNIQUE " : "", copy,
                          copy, def.text(0, 1)));
  }
  DropCopy guard{*aux, copy};
  std::string copy_idx = copy + "_idx";
  std::string table_file = filenode(*aux, copy), index_file = filenode(*aux, copy_idx);
  auto blocker = pg::PgConnection::connect({conninfo, "colshift lint trace writer", 10});
  blocker->exec("SET lock_timeout = '5s'");
  blocker->exec("BEGIN");
  blocker->exec(fmt::format("LOCK TABLE {} IN {} MODE", copy, plan.blocker));
  auto runner = pg::PgConnection::connect({conninfo, "colshift lint trace runner", 10});
  runner->exec("SET lock_timeout = '5s'");
  int pid = runner->backend_pid();
  bool flush = runner->server_version() >= 150000;
  std::string error;
  std::thread worker([&] {
    try {
      runner->exec_script(plan.sql);
      if (flush) runner->exec("SELECT pg_stat_force_next_flush()");
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  // Locks of the runner on the copy and its index, granted or asked for,
  // until it waits (for the blocker) with something seen.
  std::map<std::string, LockMode> seen;  // "table" / "index"
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = aux->exec(
        "SELECT CASE WHEN l.relation = to_regclass($2) THEN 'table' ELSE 'index' END, l.mode, "
        "(SELECT count(*) FROM pg_locks w WHERE w.pid = $1 AND NOT w.granted) "
        "FROM pg_locks l WHERE l.pid = $1 AND l.locktype = 'relation' "
        "AND l.relation IN (to_regclass($2), to_regclass($3))",
        {std::to_string(pid), copy, copy_idx});
    bool waiting = false;
    for (size_t i = 0; i < r.size(); ++i) {
      auto& slot = seen[r.text(i, 0)];
      slot = std::max(slot, parse_lock_name(r.text(i, 1)));
      waiting = waiting || r.integer(i, 2) > 0;
    }
    if (!seen.empty() && waiting) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  blocker->exec("COMMIT");
  worker.join();
  if (!error.empty()) {
    t.status = "failed";
    t.detail = error;
    return t;
  }
  aux->exec("SELECT pg_stat_clear_snapshot()");
  auto scans = aux->exec(
      "SELECT coalesce((SELECT seq_scan FROM pg_stat_user_tables WHERE relid = "
      "to_regclass($1)), 0)",
      {copy});
  ObservedRelation o;
  o.relation = plan.table;
  o.lock = seen.count("table") ? seen["table"] : LockMode::kNone;
  o.rewrite = filenode(*aux, copy) != table_file;
  o.scan = scans.integer(0, 0) > 0;
  o.scan_known = plan.scan_known;
  t.relations.push_back(o);
  if (!plan.index.empty()) {
    ObservedRelation oi;
    oi.relation = plan.index;
    oi.lock = seen.count("index") ? seen["index"] : LockMode::kNone;
    std::string after = filenode(*aux, copy_idx);
    oi.rewrite = !after.empty() && after != index_file;
    oi.scan_known = false;  // pg_stat_user_tables has no row for an index
    t.relations.push_back(oi);
  }
  t.status = "traced";
  t.detail = "on a copy of " + plan.table + ", sampled while it waited for another session";
  t.disagreements = compare_facts(st, facts, t.relations);
  return t;
}

}  // namespace colshift::lint
