// create_index on PostgreSQL: CREATE INDEX CONCURRENTLY in the finish phase,
// after the backfill has written its rows; an INVALID leftover of a failed
// try is dropped and rebuilt by the runner; rollback drops it CONCURRENTLY.
#include <fmt/format.h>

#include <regex>

#include "dialect/postgres/postgres_dialect.h"
#include "util/error.h"
#include "util/text.h"

namespace colshift::postgres {

std::pair<std::string, std::string> split_index_ordering(const std::string& column) {
  static const std::regex suffix(
      R"(^(.*?)\s+((ASC|DESC)(\s+NULLS\s+(FIRST|LAST))?|NULLS\s+(FIRST|LAST))\s*$)",
      std::regex::icase);
  std::smatch m;
  std::string c = trim(column);
  if (!std::regex_match(c, m, suffix)) return {c, ""};
  std::string order = m[2].str();
  for (auto& ch : order) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  // Collapse runs of spaces: "DESC  NULLS LAST" -> "DESC NULLS LAST".
  order = std::regex_replace(order, std::regex(R"(\s+)"), " ");
  return {trim(m[1].str()), order};
}

bool PostgresDialect::is_plain_name(const std::string& expr) {
  static const std::regex plain(R"(^[A-Za-z_][A-Za-z0-9_$]*$)");
  return std::regex_match(expr, plain);
}

std::string PostgresDialect::index_item(const std::string& expr) const {
  return is_plain_name(expr) ? quote_ident(expr) : "(" + expr + ")";
}

std::vector<plan::Step> PostgresDialect::plan_create_index(const migration::CreateIndex& op,
                                                           const PlanContext& ctx) const {
  const auto& facts = *ctx.facts;
  const auto& t = facts.tables.at(op.table.display());
  const std::string where = op.pos.location();
  if (facts.existing_indexes.count(t.schema + "." + op.name)) {
    throw Error(ErrorKind::kBadInput, fmt::format("index {} already exists", op.name), where,
                "choose another name, or drop this operation if the index is already in place");
  }
  if (t.partitioned) {
    // CREATE INDEX CONCURRENTLY fails on a partitioned parent: say so before
    // anything runs, not after the backfill.
    throw Error(
        ErrorKind::kBadInput,
        fmt::format("table {} is partitioned: CREATE INDEX CONCURRENTLY cannot build an index on "
                    "a partitioned table",
                    op.table.display()),
        where,
        fmt::format("colshift does not build partitioned indexes yet; use raw_sql: CREATE "
                    "{}INDEX {} ON ONLY {}.{}{} ({}){} (the index starts invalid), then on each "
                    "partition CREATE INDEX CONCURRENTLY and ALTER INDEX {} ATTACH PARTITION "
                    "<that index>; {} is valid once every partition's index is attached",
                    op.unique ? "UNIQUE " : "", op.name, t.schema, t.name,
                    op.method == "btree" ? "" : " USING " + op.method, join(op.columns, ", "),
                    op.where ? " WHERE " + *op.where : "", op.name, op.name));
  }
  std::vector<std::string> cols;
  for (const auto& col : op.columns) {
    auto [expr, order] = split_index_ordering(col);
    std::string item = index_item(expr);
    cols.push_back(order.empty() ? item : item + " " + order);
  }
  const std::string table = qualified(t.schema, t.name);
  const std::string index = qualified(t.schema, op.name);

  plan::Step s;
  s.phase = plan::Phase::kFinish;
  s.kind = plan::StepKind::kCreateIndex;
  s.operation = ctx.operation;
  s.summary = fmt::format("build {}index {} on {} ({}) CONCURRENTLY: reads and writes continue",
                          op.unique ? "unique " : "", op.name, t.name, join(op.columns, ", "));
  std::string sql =
      fmt::format("CREATE {}INDEX CONCURRENTLY {} ON {} USING {} ({})", op.unique ? "UNIQUE " : "",
                  quote_ident(op.name), table, op.method, join(cols, ", "));
  if (op.where) sql += " WHERE " + *op.where;
  s.sql = {sql};
  s.index_name = index;
  s.index_lookup = index;
  s.done_check = fmt::format(
      "SELECT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass({}) AND indisvalid)",
      quote_literal(index));
  s.lock_table = t.schema + "." + t.name;
  s.lock = plan::LockMode::kShareUpdateExclusive;
  s.scans = true;
  s.estimate_seconds =
      t.row_estimate < 0 ? -1 : static_cast<double>(t.row_estimate) / kIndexRowsPerSecond;
  s.estimate_note = "two table scans; waits for older transactions to finish";
  s.undo_kind = plan::StepKind::kConcurrent;
  s.undo = {fmt::format("DROP INDEX CONCURRENTLY IF EXISTS {}", index)};
  s.undo_lock = plan::LockMode::kShareUpdateExclusive;
  s.undo_summary = fmt::format("drop index {} CONCURRENTLY", op.name);
  return {s};
}

}  // namespace colshift::postgres
