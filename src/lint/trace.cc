#include "lint/trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "lint/file_state.h"
#include "lint/trace_internal.h"

namespace colshift::lint {

using json = nlohmann::json;

namespace {

// Relation locks (tables, views, indexes) the current transaction holds, by
// oid: the strongest granted mode.
std::map<std::string, LockMode> held_locks(Connection& conn) {
  auto r = conn.exec(
      "SELECT l.relation::text, l.mode FROM pg_locks l "
      "WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted "
      "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())");
  std::map<std::string, LockMode> out;
  for (size_t i = 0; i < r.size(); ++i) {
    LockMode m = parse_lock_name(r.text(i, 1));
    auto& slot = out[r.text(i, 0)];
    slot = std::max(slot, m);
  }
  return out;
}

struct RelationState {
  std::string oid;  // "" when it does not exist
  std::string filenode;
  long long seq_scan = 0;
};

RelationState relation_state(Connection& conn, const std::string& name) {
  auto r = conn.exec(
      "SELECT c.oid::text, pg_relation_filenode(c.oid)::text, "
      "coalesce((SELECT seq_scan FROM pg_stat_xact_user_tables s WHERE s.relid = c.oid), 0) "
      "FROM pg_class c WHERE c.oid = to_regclass($1)",
      {name});
  if (r.empty()) return {};
  return {r.text(0, 0), r.text(0, 1), r.integer(0, 2)};
}

// Tables (not indexes, sequences or toast) among oids, with their names.
std::map<std::string, std::string> table_names(Connection& conn,
                                               const std::map<std::string, LockMode>& locks) {
  std::string list;
  for (const auto& [oid, mode] : locks) list += (list.empty() ? "" : ",") + oid;
  std::map<std::string, std::string> out;
  if (list.empty()) return out;
  auto r = conn.exec(
      "SELECT c.oid::text, CASE WHEN n.nspname = 'public' THEN c.relname ELSE "
      "n.nspname || '.' || c.relname END FROM pg_class c JOIN pg_namespace n ON "
      "n.oid = c.relnamespace WHERE c.oid = ANY(string_to_array($1, ',')::oid[]) "
      "AND c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', "
      "'information_schema')",
      {list});
  for (size_t i = 0; i < r.size(); ++i) out[r.text(i, 0)] = r.text(i, 1);
  return out;
}

struct IndexInfo {
  std::string name;   // as the catalog spells it, schema-qualified outside public
  std::string table;  // its table, the same way
};

// The indexes, by oid, that exist now on the tables among `oids`: the
// relations a statement on those tables may also lock.
std::map<std::string, IndexInfo> indexes_of(Connection& conn,
                                            const std::vector<std::string>& oids) {
  std::string list;
  for (const auto& oid : oids) list += (list.empty() ? "" : ",") + oid;
  std::map<std::string, IndexInfo> out;
  if (list.empty()) return out;
  auto r = conn.exec(
      "SELECT i.indexrelid::text, "
      "CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END, "
      "CASE WHEN tn.nspname = 'public' THEN t.relname ELSE tn.nspname || '.' || t.relname END "
      "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
      "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class t ON t.oid = i.indrelid "
      "JOIN pg_namespace tn ON tn.oid = t.relnamespace "
      "WHERE i.indrelid = ANY(string_to_array($1, ',')::oid[])",
      {list});
  for (size_t i = 0; i < r.size(); ++i) out[r.text(i, 0)] = {r.text(i, 1), r.text(i, 2)};
  return out;
}

TraceStatement trace_in_transaction(Connection& conn, const FileReport& report, int index) {
  const Statement& st = report.statements[static_cast<size_t>(index)];
  const StatementFacts& facts = report.facts[static_cast<size_t>(index)];
  TraceStatement t;
  t.index = index;
  std::map<std::string, RelationState> before;
  std::vector<std::string> named_oids;
  for (const auto& r : facts.relations) {
    before[r.relation] = relation_state(conn, r.relation);
    if (!before[r.relation].oid.empty()) named_oids.push_back(before[r.relation].oid);
  }
  auto indexes = indexes_of(conn, named_oids);
  auto locks_before = held_locks(conn);
  conn.exec("SAVEPOINT colshift_trace");
  try {
    conn.exec_script(st.text);
  } catch (const DbError& e) {
    if (e.connection_lost()) throw;
    conn.exec("ROLLBACK TO SAVEPOINT colshift_trace");
    t.status = "failed";
    t.detail = e.what();
    return t;
  }
  auto locks_after = held_locks(conn);
  std::map<std::string, ObservedRelation> seen;  // by oid
  for (const auto& r : facts.relations) {
    RelationState after = relation_state(conn, r.relation);
    const RelationState& b = before[r.relation];
    std::string oid = !b.oid.empty() ? b.oid : after.oid;
    if (oid.empty()) continue;
    ObservedRelation o;
    o.relation = r.relation;
    o.held_before = locks_before.count(oid) ? locks_before[oid] : LockMode::kNone;
    LockMode now = locks_after.count(oid) ? locks_after[oid] : LockMode::kNone;
    o.lock = now > o.held_before ? now : LockMode::kNone;
    o.rewrite = !b.oid.empty() && !after.oid.empty() && b.filenode != after.filenode;
    o.scan = !b.oid.empty() && !after.oid.empty() && after.seq_scan > b.seq_scan;
    seen[oid] = o;
  }
  // Tables the statement locked that the static facts do not name.
  for (const auto& [oid, name] : table_names(conn, locks_after)) {
    if (seen.count(oid)) continue;
    LockMode prev = locks_before.count(oid) ? locks_before[oid] : LockMode::kNone;
    if (locks_after[oid] <= prev) continue;
    ObservedRelation o;
    o.relation = name;
    o.held_before = prev;
    o.lock = locks_after[oid];
    seen[oid] = o;
  }
  // Indexes of the named tables that the statement locked: the static facts
  // must name those locked more strongly than their table (REINDEX TABLE).
  for (const auto& [oid, info] : indexes) {
    if (seen.count(oid) || !locks_after.count(oid)) continue;
    LockMode prev = locks_before.count(oid) ? locks_before[oid] : LockMode::kNone;
    if (locks_after[oid] <= prev) continue;
    ObservedRelation o;
    o.relation = info.name;
    o.held_before = prev;
    o.lock = locks_after[oid];
    o.scan_known = false;
    o.table = info.table;
    seen[oid] = o;
  }
  conn.exec("RELEASE SAVEPOINT colshift_trace");
  for (auto& [oid, o] : seen) t.relations.push_back(o);
  t.status = "traced";
  t.disagreements = compare_facts(st, facts, t.relations);
  return t;
}

}  // namespace

std::vector<std::string> compare_facts(const Statement& st, const StatementFacts& facts,
                                       const std::vector<ObservedRelation>& observed) {
  std::vector<std::string> out;
  bool dml = st.kind == "UpdateStmt" || st.kind == "DeleteStmt" || st.kind == "InsertStmt" ||
             st.kind == "SelectStmt";
  for (const auto& o : observed) {
    const RelationFact* f = nullptr;
    for (const auto& r : facts.relations) {
      if (table_key(r.relation) == table_key(o.relation)) f = &r;
    }
    if (!f && !o.table.empty()) {
      // An index is reached through its table: a lock on the table at
      // least as strong already keeps every query off it.
      const RelationFact* owner = nullptr;
      for (const auto& r : facts.relations) {
        if (table_key(r.relation) == table_key(o.table)) owner = &r;
      }
      if (!owner || owner->lock < o.lock) {
        out.push_back(
            fmt::format("took {} on index \"{}\" of \"{}\", which the static facts "
                        "do not name",
                        lock_name(o.lock), o.relation, o.table));
      }
      continue;
    }
    if (!f) {
      if (o.lock >= LockMode::kShareUpdateExclusive) {
        out.push_back(fmt::format("took {} on \"{}\", which the static facts do not name",
                                  lock_name(o.lock), o.relation));
      }
      continue;
    }
    if (o.lock > f->lock) {
      out.push_back(fmt::format("\"{}\": static lock {}, server took {}", o.relation,
                                lock_name(f->lock), lock_name(o.lock)));
    } else if (o.lock < f->lock && o.held_before < f->lock) {
      out.push_back(fmt::format("\"{}\": static lock {}, server took only {}", o.relation,
                                lock_name(f->lock),
                                o.lock == LockMode::kNone ? "no new lock" : lock_name(o.lock)));
    }
    bool new_file = f->rewrite || f->new_file;
    if (o.rewrite != new_file && !(new_file && f->created_here)) {
      out.push_back(fmt::format("\"{}\": static facts say {}, server {}", o.relation,
                                f->rewrite    ? "rewrite"
                                : f->new_file ? "new file"
                                              : "no rewrite",
                                o.rewrite ? "gave it a new file" : "kept the file"));
    }
    // TRUNCATE rebuilds its (empty) indexes, which the server counts as a
    // scan: it costs nothing.
    if (!o.scan_known || st.kind == "TruncateStmt") continue;
    if (!dml && o.scan && !f->scan && !f->rewrite) {
      out.push_back(fmt::format("\"{}\": static facts say no scan, server scanned it", o.relation));
    }
    if (!dml && !o.scan && f->scan && !f->created_here) {
      out.push_back(
          fmt::format("\"{}\": static facts say scan, server did not scan it", o.relation));
    }
  }
  return out;
}

TraceReport trace_file(Connection& conn, const std::string& conninfo, const FileReport& report) {
  TraceReport trace;
  trace.path = report.path;
  std::vector<int> outside;  // statements that cannot run in a transaction
  conn.exec("BEGIN");
  try {
    conn.exec("SET LOCAL lock_timeout = '5s'");
    conn.exec("SET LOCAL statement_timeout = '120s'");
    for (size_t i = 0; i < report.statements.size() && i < report.facts.size(); ++i) {
      const Statement& st = report.statements[i];
      if (st.parent >= 0) continue;  // runs with its DO block
      TraceStatement t;
      t.index = static_cast<int>(i);
      if (!st.error.empty()) {
        t.status = "skipped";
        t.detail = "does not parse";
      } else if (st.kind == "TransactionStmt") {
        t.status = "skipped";
        t.detail = "transaction control: the trace runs the file in its own transaction";
      } else if (!report.facts[i].in_transaction) {
        outside.push_back(static_cast<int>(i));  // after the ROLLBACK below
        continue;
      } else {
        t = trace_in_transaction(conn, report, static_cast<int>(i));
      }
      trace.statements.push_back(std::move(t));
    }
  } catch (...) {
    if (conn.alive()) conn.exec("ROLLBACK");
    throw;
  }
  conn.exec("ROLLBACK");
  for (int i : outside) trace.statements.push_back(trace_outside_transaction(conninfo, report, i));
  std::stable_sort(
      trace.statements.begin(), trace.statements.end(),
      [](const TraceStatement& a, const TraceStatement& b) { return a.index < b.index; });
  return trace;
}

std::vector<std::string> TraceReport::disagreements(const FileReport* report) const {
  std::vector<std::string> out;
  for (const auto& s : statements) {
    for (const auto& d : s.disagreements) {
      std::string where = path;
      if (report && s.index >= 0 && static_cast<size_t>(s.index) < report->statements.size()) {
        const auto& p = report->statements[static_cast<size_t>(s.index)].start;
        where += fmt::format(":{}:{}", p.line, p.column);
      }
      out.push_back(where + ": " + d);
    }
  }
  return out;
}

json trace_json(const std::vector<TraceReport>& traces) {
  json files = json::array();
  for (const auto& t : traces) {
    json sts = json::array();
    for (const auto& s : t.statements) {
      json rels = json::array();
      for (const auto& r : s.relations) {
        rels.push_back({{"relation", r.relation},
                        {"lock", lock_name(r.lock)},
                        {"held_before", lock_name(r.held_before)},
                        {"rewrite", r.rewrite},
                        {"scan", r.scan_known ? json(r.scan) : json(nullptr)}});
      }
      sts.push_back({{"statement", s.index},
                     {"status", s.status},
                     {"detail", s.detail},
                     {"relations", rels},
                     {"disagreements", s.disagreements}});
    }
    files.push_back({{"path", t.path}, {"statements", sts}});
  }
  return files;
}

void render_trace_text(const FileReport& report, const TraceReport& trace, std::ostream& out) {
  for (const auto& s : trace.statements) {
    const auto& st = report.statements[static_cast<size_t>(s.index)];
    out << fmt::format("{}:{}:{}: trace {}{}\n", report.path, st.start.line, st.start.column,
                       s.status, s.detail.empty() ? "" : " (" + s.detail + ")");
    for (const auto& r : s.relations) {
      out << fmt::format("      {} on {}{}{}{}\n",
                         r.lock == LockMode::kNone ? "no new lock" : lock_name(r.lock), r.relation,
                         r.held_before != LockMode::kNone
                             ? fmt::format(" (already held {})", lock_name(r.held_before))
                             : "",
                         r.rewrite ? "; rewrote" : "", r.scan ? "; scanned" : "");
    }
    for (const auto& d : s.disagreements) out << "  != " << d << "\n";
  }
}

}  // namespace colshift::lint
