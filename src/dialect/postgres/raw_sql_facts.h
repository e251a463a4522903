// raw_sql read with colshift's PostgreSQL linter (src/lint): what each
// statement does to each table (lock, rewrite, scan under that lock), judged
// against the schema the planner's CatalogFacts describe, and its hazards
// (migration/hazards.h).
//
// The adapter sits here because it is where the two meet: the PostgreSQL
// dialect plans raw_sql, and the linter is the PostgreSQL statement
// analyser. The linter knows nothing of plans; plan/ receives plain data
// (plan::RawStatement). There is one copy of the lock tables: lint/facts.cc.
#pragma once

#include <string>
#include <vector>

#include "lint/facts.h"
#include "lint/file_state.h"
#include "migration/hazards.h"
#include "plan/facts.h"
#include "plan/plan.h"

namespace colshift::postgres {

// The relations ("name" or "schema.name", as written) that `sql` locks, in
// the order first named; empty when it does not parse. gather_facts reads
// their sizes.
std::vector<std::string> raw_sql_relations(const std::string& sql);

struct RawSqlFacts {
  std::vector<std::string> sql;                // the top-level statements, as they run
  std::vector<plan::RawStatement> statements;  // parallel to `sql`
  bool outside_transaction = false;            // some statement cannot run in a transaction block
};

// Reads the raw SQL of one migration, one piece after another in the order
// they run, so that what an earlier piece did (a table created, a CHECK
// validated) is known when reading a later one.
class RawSqlReader {
 public:
  // REQUIRES: `facts` outlives the reader.
  explicit RawSqlReader(const plan::CatalogFacts& facts);
  RawSqlReader(const RawSqlReader&) = delete;
  RawSqlReader& operator=(const RawSqlReader&) = delete;

  // Reads `sql` as one step runs it. Hazards named in `allowed` are marked
  // allowed; with `judge` false (rollback's `down`) none is refused. Throws
  // Error(kBadInput) at `where` when a statement does not parse.
  RawSqlFacts read(const std::string& sql, const std::string& where,
                   const std::vector<migration::Hazard>& allowed, bool judge);

 private:
  const plan::CatalogFacts& facts_;
  lint::Catalog catalog_;
  lint::FactsOptions options_;
  lint::FileState state_;  // reads catalog_
};

}  // namespace colshift::postgres
