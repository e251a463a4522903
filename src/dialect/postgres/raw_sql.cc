// raw_sql on PostgreSQL: the author's statements, in the phase they name.
// Statements that cannot run in a transaction block (CONCURRENTLY, VACUUM, ...)
// run one by one; everything else runs in one short transaction under
// lock_timeout, recorded done in that same transaction, so `down` runs on
// rollback exactly when `up` committed. The linter reads every statement
// (raw_sql_facts.h): its locks, rewrites and scans go into the step, and its
// hazards decide whether start may run it.
#include <fmt/format.h>

#include "dialect/postgres/postgres_dialect.h"
#include "dialect/postgres/raw_sql_facts.h"
#include "util/text.h"

namespace colshift::postgres {
namespace {

using migration::RawSql;
using migration::RawSqlPhase;

int run_order(RawSqlPhase p) {
  return p == RawSqlPhase::kExpand ? 0 : p == RawSqlPhase::kFinish ? 1 : 2;
}

std::string where_of(const migration::SourcePos& p) {
  return fmt::format("{}:{}:{}", p.file, p.line, p.column);
}

std::string count_of(size_t n) { return fmt::format("{} statement{}", n, n == 1 ? "" : "s"); }

// The strongest lock on a live table, what the statements do to live tables,
// and the estimate, from the statements' facts.
void summarize(plan::Step& s) {
  for (const auto& t : plan::table_locks(s.statements)) {
    if (!t.live) continue;
    if (t.lock > s.lock) {
      s.lock = t.lock;
      s.lock_table = t.relation;
    }
    s.rewrites = s.rewrites || t.rewrites;
    s.scans = s.scans || t.scans;
  }
  s.estimate_seconds = 0;
  long long biggest = 0;
  std::string unknown_size;
  for (const auto& st : s.statements) {
    for (const auto& r : st.relations) {
      if (!r.live || !(r.rewrites || r.scans)) continue;
      if (r.rows < 0 && unknown_size.empty()) unknown_size = r.relation;
      biggest = std::max(biggest, r.rows);
    }
    if (st.estimate_seconds < 0) s.estimate_seconds = -1;
    if (s.estimate_seconds >= 0) s.estimate_seconds += st.estimate_seconds;
  }
  if (s.estimate_seconds < 0) {
    s.estimate_note = !unknown_size.empty()
                          ? fmt::format("size of {} unknown", unknown_size)
                          : "as written: depends on the rows its statements touch";
  } else if (biggest > 0) {
    s.estimate_note =
        fmt::format("{} {} rows", s.rewrites ? "rewrites" : "scans", with_commas(biggest));
  } else {
    s.estimate_note = "instant";
  }
}

}  // namespace

std::vector<plan::Step> PostgresDialect::plan_raw_sql(const RawSql& op,
                                                      const PlanContext& ctx) const {
  const std::string where = where_of(op.pos);
  static const plan::CatalogFacts kOffline;
  RawSqlReader reader(ctx.facts ? *ctx.facts : kOffline);
  // The raw SQL that runs before this operation: an earlier phase, or earlier
  // in the file in the same phase.
  if (ctx.operations) {
    for (size_t i = 0; i < ctx.operations->size(); ++i) {
      const auto* other = std::get_if<RawSql>(&(*ctx.operations)[i]);
      if (!other || static_cast<int>(i) == ctx.operation) continue;
      int a = run_order(other->phase), b = run_order(op.phase);
      if (a < b || (a == b && static_cast<int>(i) < ctx.operation))
        reader.read(other->up, where_of(other->pos), {}, false);
    }
  }
  auto up = reader.read(op.up, where, op.allow_hazards, true);
  auto down = reader.read(op.down, where, {}, false);

  plan::Step s;
  s.phase = op.phase == RawSqlPhase::kExpand   ? plan::Phase::kExpand
            : op.phase == RawSqlPhase::kFinish ? plan::Phase::kFinish
                                               : plan::Phase::kComplete;
  s.operation = ctx.operation;
  s.kind = up.outside_transaction ? plan::StepKind::kConcurrent : plan::StepKind::kTransactional;
  s.summary = fmt::format("raw SQL ({}){}", count_of(up.sql.size()),
                          up.outside_transaction ? ", outside a transaction" : "");
  s.sql = std::move(up.sql);
  s.statements = std::move(up.statements);
  s.where = where;
  summarize(s);
  s.undo_kind =
      down.outside_transaction ? plan::StepKind::kConcurrent : plan::StepKind::kTransactional;
  s.undo = std::move(down.sql);
  s.undo_statements = std::move(down.statements);
  for (const auto& t : plan::table_locks(s.undo_statements)) {
    if (t.live) s.undo_lock = std::max(s.undo_lock, t.lock);
  }
  s.undo_only_if_done = true;
  s.undo_summary = fmt::format("raw SQL down ({})", count_of(s.undo.size()));
  return {s};
}

}  // namespace colshift::postgres
