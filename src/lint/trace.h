// Trace mode: run a file's statements against a real server and record what
// they really do, to check the static facts.
//
// The whole file runs in one transaction that is rolled back at the end;
// each statement runs under a SAVEPOINT (a failing one is rolled back to it
// and the trace goes on). For each statement the tracer records the new
// relation locks the transaction holds (pg_locks), relations whose
// relfilenode changed (rewrites) and sequential scans
// (pg_stat_xact_user_tables). CREATE INDEX CONCURRENTLY cannot run in a
// transaction, and neither can REINDEX CONCURRENTLY, DROP INDEX CONCURRENTLY
// or VACUUM: after the rollback each runs on a throwaway copy of its table
// (CREATE TABLE ... (LIKE ...), with the named index) from a second session
// while a third holds a lock on the copy (a writer's ROW EXCLUSIVE, or SHARE
// UPDATE EXCLUSIVE for VACUUM, which does not wait for writers); its locks
// are sampled while it waits. (Run inside the file's transaction a
// concurrent build would wait for that transaction's snapshot forever.) It
// is skipped when an earlier statement of the file changes the table, as the
// copy would not match. Other non-transactional statements (DETACH
// PARTITION CONCURRENTLY, multi-table VACUUM, ...) are reported as not
// traced.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "dialect/connection.h"
#include "lint/types.h"

namespace colshift::lint {

struct ObservedRelation {
  std::string relation;
  LockMode lock = LockMode::kNone;         // strongest lock newly taken by the statement
  LockMode held_before = LockMode::kNone;  // strongest lock the transaction already held
  bool rewrite = false;                    // relfilenode changed
  bool scan = false;                       // seq_scan counter moved
  bool scan_known = true;  // false: the server does not count this read (VACUUM, an index)
  std::string table;       // for an index the static facts do not name: its table
};

struct TraceStatement {
  int index = -1;      // into FileReport::statements
  std::string status;  // "traced", "skipped", "failed"
  std::string detail;  // why skipped, or the server's error
  std::vector<ObservedRelation> relations;
  std::vector<std::string> disagreements;  // static fact vs what the server did
};

struct TraceReport {
  std::string path;
  std::vector<TraceStatement> statements;
  // Every disagreement as "path:line:col: text".
  std::vector<std::string> disagreements(const FileReport* report = nullptr) const;
};

// Traces `report`'s statements on `conn` (which must not be in a
// transaction). `conninfo` opens the extra sessions the CONCURRENTLY path
// needs. Leaves the database as it was (all work is rolled back, copies are
// dropped). Throws DbError when the server goes away.
TraceReport trace_file(Connection& conn, const std::string& conninfo, const FileReport& report);

nlohmann::json trace_json(const std::vector<TraceReport>& traces);
void render_trace_text(const FileReport& report, const TraceReport& trace, std::ostream& out);

}  // namespace colshift::lint
