// raw_sql on PostgreSQL: the author's statements, in the phase they name.
// Statements that cannot run in a transaction block (CONCURRENTLY, VACUUM, ...)
// run one by one; everything else runs in one short transaction under
// lock_timeout, recorded done in that same transaction, so `down` runs on
// rollback exactly when `up` committed.
#include <fmt/format.h>
#include <pg_query.h>

#include "dialect/postgres/postgres_dialect.h"
#include "util/error.h"
#include "util/text.h"

namespace colshift::postgres {
namespace {

// Splits SQL into statements with PostgreSQL's own parser.
std::vector<std::string> split_statements(const std::string& sql, const std::string& where) {
  PgQuerySplitResult r = pg_query_split_with_parser(sql.c_str());
  if (r.error) {
    std::string msg = r.error->message ? r.error->message : "syntax error";
    int cursor = r.error->cursorpos;
    pg_query_free_split_result(r);
    throw Error(ErrorKind::kBadInput,
                fmt::format("raw_sql does not parse: {} (at character {})", msg, cursor), where,
                "check the SQL with 'colshift lint'");
  }
  std::vector<std::string> out;
  for (int i = 0; i < r.n_stmts; ++i) {
    auto* s = r.stmts[i];
    std::string stmt =
        trim(sql.substr(static_cast<size_t>(s->stmt_location), static_cast<size_t>(s->stmt_len)));
    if (!stmt.empty()) out.push_back(stmt);
  }
  pg_query_free_split_result(r);
  return out;
}

bool needs_no_transaction(const std::vector<std::string>& stmts) {
  for (const auto& s : stmts) {
    std::string l = to_lower(s);
    if (l.find("concurrently") != std::string::npos || l.rfind("vacuum", 0) == 0 ||
        (l.find("alter type") != std::string::npos && l.find("add value") != std::string::npos) ||
        l.rfind("create database", 0) == 0 || l.rfind("drop database", 0) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<plan::Step> PostgresDialect::plan_raw_sql(const migration::RawSql& op,
                                                      const PlanContext& ctx) const {
  const std::string where = fmt::format("{}:{}:{}", op.pos.file, op.pos.line, op.pos.column);
  auto up = split_statements(op.up, where);
  auto down = split_statements(op.down, where);
  plan::Step s;
  s.phase = op.phase == migration::RawSqlPhase::kExpand   ? plan::Phase::kExpand
            : op.phase == migration::RawSqlPhase::kFinish ? plan::Phase::kFinish
                                                          : plan::Phase::kComplete;
  s.operation = ctx.operation;
  s.kind = needs_no_transaction(up) ? plan::StepKind::kConcurrent : plan::StepKind::kTransactional;
  s.summary = fmt::format("raw SQL ({} statement{}){}", up.size(), up.size() == 1 ? "" : "s",
                          s.kind == plan::StepKind::kConcurrent ? ", outside a transaction" : "");
  s.sql = up;
  s.estimate_seconds = -1;
  s.estimate_note = "as written; 'colshift lint' reports its locks";
  s.undo_kind =
      needs_no_transaction(down) ? plan::StepKind::kConcurrent : plan::StepKind::kTransactional;
  s.undo = down;
  s.undo_only_if_done = true;
  s.undo_summary =
      fmt::format("raw SQL down ({} statement{})", down.size(), down.size() == 1 ? "" : "s");
  return {s};
}

}  // namespace colshift::postgres
