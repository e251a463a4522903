// Tracing CREATE INDEX CONCURRENTLY, which cannot run in the trace's
// transaction: it runs on a throwaway copy of its table, and its locks are
// sampled from pg_locks while it waits for a writer's open transaction.
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <thread>

#include "lint/ast.h"
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

// The statement with its table replaced by `copy` and its index name by
// `copy_idx`; "" when the names cannot be found in the text.
std::string retarget(const Statement& st, const std::string& copy) {
  const auto& rv = st.tree.value("relation", nlohmann::json::object());
  int loc = ast::location(rv);
  if (loc < 0 || st.tree_base + static_cast<size_t>(loc) < st.offset) return {};
  size_t at = st.tree_base + static_cast<size_t>(loc) - st.offset;
  if (at >= st.text.size()) return {};
  std::string sql = st.text.substr(0, at) + copy + st.text.substr(name_end(st.text, at));
  std::string idx = ast::str(st.tree, "idxname");
  if (idx.empty()) return sql;
  size_t pos = sql.rfind(idx, at);
  if (pos == std::string::npos) return {};
  return sql.substr(0, pos) + copy + "_idx" + sql.substr(pos + idx.size());
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

TraceStatement trace_outside_transaction(Connection& conn, const std::string& conninfo,
                                         const FileReport& report, int index) {
  const Statement& st = report.statements[static_cast<size_t>(index)];
  const StatementFacts& facts = report.facts[static_cast<size_t>(index)];
  TraceStatement t;
  t.index = index;
  t.status = "skipped";
  if (st.kind != "IndexStmt" || !ast::flag(st.tree, "concurrent")) {
    t.detail = "cannot run in a transaction and only CREATE INDEX CONCURRENTLY is traced on a copy";
    return t;
  }
  std::string table = ast::relation_name(st.tree.value("relation", nlohmann::json::object()));
  // The trace's own transaction may already lock the table (an earlier
  // statement of the file); a copy would wait for it forever.
  if (conn.exec("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND relation = "
                "to_regclass($1)",
                {table})
          .integer(0, 0) > 0) {
    t.detail = "an earlier statement of this file locked its table in the trace's transaction";
    return t;
  }
  auto aux = pg::PgConnection::connect({conninfo, "colshift lint trace", 10});
  aux->exec("SET lock_timeout = '5s'");
  if (aux->exec("SELECT to_regclass($1) IS NULL", {table}).boolean(0, 0)) {
    t.detail =
        "its table is not committed in the database (created in this file?), so no copy can be "
        "made";
    return t;
  }
  std::string copy = fmt::format("colshift_trace_{}_{}", aux->backend_pid(), index);
  std::string sql = retarget(st, copy);
  if (sql.empty()) {
    t.detail = "could not point the statement at a copy of its table";
    return t;
  }
  aux->exec(fmt::format("CREATE TABLE {} (LIKE {} INCLUDING ALL)", copy, table));
  DropCopy guard{*aux, copy};
  auto blocker = pg::PgConnection::connect({conninfo, "colshift lint trace writer", 10});
  blocker->exec("SET lock_timeout = '5s'");
  blocker->exec("BEGIN");
  blocker->exec(fmt::format("LOCK TABLE {} IN ROW EXCLUSIVE MODE", copy));
  auto runner = pg::PgConnection::connect({conninfo, "colshift lint trace runner", 10});
  runner->exec("SET lock_timeout = '5s'");
  int pid = runner->backend_pid();
  bool flush = runner->server_version() >= 150000;
  std::string error;
  std::thread worker([&] {
    try {
      runner->exec_script(sql);
      if (flush) runner->exec("SELECT pg_stat_force_next_flush()");
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  LockMode seen = LockMode::kNone;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = aux->exec(
        "SELECT mode, (SELECT count(*) FROM pg_locks w WHERE w.pid = $1 AND NOT w.granted) "
        "FROM pg_locks WHERE pid = $1 AND relation = to_regclass($2) AND granted",
        {std::to_string(pid), copy});
    bool waiting = false;
    for (size_t i = 0; i < r.size(); ++i) {
      seen = std::max(seen, parse_lock_name(r.text(i, 0)));
      waiting = waiting || r.integer(i, 1) > 0;
    }
    if (seen != LockMode::kNone && waiting) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
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
  o.relation = table;
  o.lock = seen;
  o.scan = scans.integer(0, 0) > 0;
  t.relations.push_back(o);
  t.status = "traced";
  t.detail = "on a copy of " + table + ", sampled while waiting for a writer";
  t.disagreements = compare_facts(st, facts, t.relations);
  return t;
}

}  // namespace colshift::lint
