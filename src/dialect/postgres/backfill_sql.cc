// The statements of one backfill batch on PostgreSQL: keyset ranges on the
// primary key (row comparison, so composite, text and uuid keys work), the
// values computed in the UPDATE itself, rows the trigger or the app already
// filled skipped; and the read-only probes that find the row an `up` fails on.
#include <fmt/format.h>

#include "dialect/postgres/postgres_dialect.h"
#include "util/text.h"

namespace colshift::postgres {
namespace {

std::string params(size_t first, size_t count) {
  std::vector<std::string> p;
  for (size_t i = 0; i < count; ++i) p.push_back(fmt::format("${}", first + i));
  return "(" + join(p, ", ") + ")";
}

}  // namespace

std::vector<std::string> PostgresDialect::backfill_session_setup() const {
  // Nothing beyond session_setup: the trigger switch and synchronous_commit
  // are set per statement (transaction-local, own_writes_guard), so nothing
  // colshift sets can reach an app's writes through a pooler.
  return {};
}

std::string PostgresDialect::own_writes_guard() const {
  // Evaluated once per statement (an initplan), before any row is written:
  // the dual-write trigger's WHEN condition sees colshift.backfill = on for
  // this transaction only. synchronous_commit = off: a batch and its
  // checkpoint commit together, so a crash that loses the last few commits
  // loses their checkpoints too, and the resumed backfill redoes exactly those
  // batches (waiting for each WAL flush cost a third of the throughput).
  return "(SELECT set_config('colshift.backfill', 'on', true) || "
         "set_config('synchronous_commit', 'off', true)) IS NOT NULL";
}

std::string PostgresDialect::range_condition(const plan::BackfillSpec& spec, bool has_after,
                                             bool has_upto, size_t first_param) const {
  const size_t n = spec.key_columns.size();
  const std::string keys = key_tuple(spec.key_columns);
  std::vector<std::string> conds;
  size_t next = first_param;
  if (has_after) {
    conds.push_back(fmt::format("{} > {}", keys, params(next, n)));
    next += n;
  }
  if (has_upto) conds.push_back(fmt::format("{} <= {}", keys, params(next, n)));
  return conds.empty() ? "true" : join(conds, " AND ");
}

std::string PostgresDialect::pending_condition(const plan::BackfillSpec& spec) const {
  std::vector<std::string> pending;
  for (const auto& c : spec.columns) pending.push_back(quote_ident(c.column) + " IS NULL");
  return pending.size() == 1 ? pending[0] : "(" + join(pending, " OR ") + ")";
}

std::string PostgresDialect::fill_value(const plan::BackfillColumn& c,
                                        const plan::BackfillSpec& spec,
                                        const std::string& state_schema) const {
  std::string value = fmt::format("({})::{}", c.expression, c.type);
  if (c.not_null) {
    // A NULL for a NOT NULL column fails the batch (rolled back, checkpoint
    // kept); the backfill then names the row.
    value =
        fmt::format("coalesce({}, {}.colshift_null_from_up({}, NULL::{}))", value,
                    quote_ident(state_schema), quote_literal(spec.table + "." + c.column), c.type);
  }
  return value;
}

std::string PostgresDialect::fill_assignments(const plan::BackfillSpec& spec,
                                              const std::string& state_schema) const {
  std::vector<std::string> sets;
  for (const auto& c : spec.columns) {
    const std::string col = quote_ident(c.column);
    std::string value = fill_value(c, spec, state_schema);
    // Several columns: each keeps a value it already has.
    if (spec.columns.size() > 1)
      value = fmt::format("CASE WHEN {} IS NULL THEN {} ELSE {} END", col, value, col);
    sets.push_back(fmt::format("{} = {}", col, value));
  }
  return join(sets, ", ");
}

std::string PostgresDialect::backfill_boundary_sql(const plan::BackfillSpec& spec,
                                                   bool has_after) const {
  const size_t n = spec.key_columns.size();
  std::string keys = key_tuple(spec.key_columns);
  std::string cols = keys.substr(1, keys.size() - 2);
  // params: [after...], upto(max)..., offset
  std::string where = range_condition(spec, has_after, true, 1);
  size_t offset_param = (has_after ? 2 * n : n) + 1;
  return fmt::format("SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT 1 OFFSET ${}", cols,
                     qualified(spec.schema, spec.table), where, cols, offset_param);
}

std::string PostgresDialect::backfill_max_key_sql(const plan::BackfillSpec& spec) const {
  std::string keys = key_tuple(spec.key_columns);
  std::string cols = keys.substr(1, keys.size() - 2);
  std::vector<std::string> desc;
  for (const auto& k : spec.key_columns) desc.push_back(quote_ident(k) + " DESC");
  return fmt::format("SELECT {} FROM {} ORDER BY {} LIMIT 1", cols,
                     qualified(spec.schema, spec.table), join(desc, ", "));
}

std::string PostgresDialect::backfill_update_sql(const plan::BackfillSpec& spec, bool has_after,
                                                 bool has_upto,
                                                 const std::string& state_schema) const {
  return fmt::format("UPDATE {} SET {} WHERE {} AND {} AND {}", qualified(spec.schema, spec.table),
                     fill_assignments(spec, state_schema), own_writes_guard(),
                     range_condition(spec, has_after, has_upto, 1), pending_condition(spec));
}

std::string PostgresDialect::backfill_batch_sql(const plan::BackfillSpec& spec, bool has_after,
                                                const std::string& state_schema) const {
  const size_t n = spec.key_columns.size();
  const size_t first = (has_after ? 2 * n : n) + 1;
  const std::string s = quote_ident(state_schema);
  // Data-modifying CTEs: the UPDATE, its range's checkpoint and the backfill's
  // total commit together. The range row is locked before the total (the same
  // order in every worker), and the total only once the UPDATE is done, so
  // parallel workers hold it for the commit alone.
  return fmt::format(
      "WITH colshift_filled AS ({update} RETURNING 1), "
      "colshift_n AS (SELECT count(*) AS n FROM colshift_filled), "
      "colshift_range AS (UPDATE {s}.backfill_range SET last_key = ${last}::jsonb, "
      "rows_done = rows_done + colshift_n.n, done = ${done}, updated_at = clock_timestamp() "
      "FROM colshift_n WHERE migration_id = ${id} AND step = ${step} AND part = ${part} "
      "RETURNING colshift_n.n) "
      "UPDATE {s}.backfill SET rows_done = rows_done + colshift_range.n, batch_size = ${size}, "
      "rows_total = GREATEST(rows_total, rows_done + colshift_range.n), "
      "updated_at = clock_timestamp() FROM colshift_range "
      "WHERE migration_id = ${id} AND step = ${step} RETURNING colshift_range.n",
      fmt::arg("update", backfill_update_sql(spec, has_after, true, state_schema)),
      fmt::arg("s", s), fmt::arg("id", first), fmt::arg("step", first + 1),
      fmt::arg("part", first + 2), fmt::arg("last", first + 3), fmt::arg("size", first + 4),
      fmt::arg("done", first + 5));
}

std::string PostgresDialect::backfill_split_keys_sql(const plan::BackfillSpec& spec, double percent,
                                                     int parts) const {
  std::string keys = key_tuple(spec.key_columns);
  std::string cols = keys.substr(1, keys.size() - 2);
  std::vector<std::string> desc;
  for (const auto& k : spec.key_columns) desc.push_back(quote_ident(k) + " DESC");
  // The last key of each of `parts` equal slices of a sample of the keys up
  // to the backfill's last key ($1..): parts - 1 increasing split keys.
  return fmt::format(
      "SELECT {cols} FROM (SELECT DISTINCT ON (colshift_tile) {cols}, colshift_tile FROM "
      "(SELECT {cols}, ntile({parts}) OVER (ORDER BY {cols}) AS colshift_tile FROM {table} "
      "TABLESAMPLE SYSTEM ({pct}) WHERE {range}) colshift_s ORDER BY colshift_tile, {desc}) "
      "colshift_q WHERE colshift_tile < {parts} ORDER BY {cols}",
      fmt::arg("cols", cols), fmt::arg("parts", parts),
      fmt::arg("table", qualified(spec.schema, spec.table)), fmt::arg("pct", percent),
      fmt::arg("range", range_condition(spec, false, true, 1)), fmt::arg("desc", join(desc, ", ")));
}

std::string PostgresDialect::load_probe_sql(const plan::BackfillSpec& spec) const {
  // What an app's write transaction waits for: a point read of the table by
  // its key ($1..) and a commit that waits for its WAL flush. An xid alone
  // (txid_current()) is not enough: a transaction that wrote no WAL record
  // before its commit record commits without a flush, in a tenth of a
  // millisecond, however far behind the WAL is. A transactional logical
  // message is a WAL record of its own, in no table (logical decoding passes
  // it only to plugins that ask for messages; prefix colshift.probe); any
  // user may emit one.
  return fmt::format(
      "SELECT pg_logical_emit_message(true, 'colshift.probe', ''), (SELECT 1 FROM {} WHERE {} = "
      "{})",
      qualified(spec.schema, spec.table), key_tuple(spec.key_columns),
      params(1, spec.key_columns.size()));
}

std::string PostgresDialect::active_sessions_sql() const {
  // The PostgreSQL analogue of MySQL's Threads_running: client sessions of
  // this database running a statement now, colshift's own sessions ("colshift
  // backfill", "colshift migrator", ...; an app's "colshift:<version>" token
  // has no space) left out.
  return "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND "
         "backend_type = 'client backend' AND datname = current_database() AND "
         "pid <> pg_backend_pid() AND coalesce(application_name, '') NOT LIKE 'colshift %'";
}

std::string PostgresDialect::backfill_count_sql(const plan::BackfillSpec& spec) const {
  return fmt::format(
      "SELECT CASE WHEN c.reltuples > 0 THEN c.reltuples::bigint "
      "ELSE (SELECT count(*) FROM {}) END FROM pg_class c WHERE c.oid = {}::regclass",
      qualified(spec.schema, spec.table), quote_literal(qualified(spec.schema, spec.table)));
}

std::string PostgresDialect::backfill_probe_sql(const plan::BackfillSpec& spec, bool has_after,
                                                bool has_upto, bool before_expand) const {
  // Every value is referenced, so none is optimised away; the count is of
  // NULLs in NOT NULL columns. An error from an expression fails the query.
  std::vector<std::string> values, nulls, refs;
  std::string extra;
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    const auto& c = spec.columns[i];
    values.push_back(fmt::format("({})::{} AS colshift_v{}", c.expression, c.type, i));
    refs.push_back(fmt::format("count(colshift_v{})", i));
    if (c.not_null) nulls.push_back(fmt::format("colshift_v{} IS NULL", i));
    if (before_expand) extra += fmt::format(", NULL::{} AS {}", c.type, quote_ident(c.column));
  }
  const std::string table = qualified(spec.schema, spec.table);
  // Before expand the new columns do not exist yet: expose them as NULLs
  // under the table's name, as the planner's expression check does.
  const std::string from = before_expand
                               ? fmt::format("(SELECT colshift_t.*{} FROM {} AS colshift_t) AS {}",
                                             extra, table, quote_ident(spec.table))
                               : table;
  const std::string where = range_condition(spec, has_after, has_upto, 1) +
                            (before_expand ? "" : " AND " + pending_condition(spec));
  return fmt::format("SELECT count(*) FILTER (WHERE {}), {} FROM (SELECT {} FROM {} WHERE {}) s",
                     nulls.empty() ? "false" : join(nulls, " OR "), join(refs, ", "),
                     join(values, ", "), from, where);
}

std::string PostgresDialect::check_probe_sql(const plan::BackfillSpec& spec,
                                             const plan::BackfillColumn& column, bool has_after,
                                             bool has_upto) const {
  std::string keys = key_tuple(spec.key_columns);
  std::string cols = keys.substr(1, keys.size() - 2);
  // The row as it will be: the new column holding its expression's value.
  return fmt::format(
      "SELECT {cols} FROM (SELECT colshift_t.*, ({expr})::{type} AS {col} FROM {table} AS "
      "colshift_t WHERE {range}) AS {alias} WHERE ({check}) IS FALSE ORDER BY {cols} LIMIT 1",
      fmt::arg("cols", cols), fmt::arg("expr", column.expression), fmt::arg("type", column.type),
      fmt::arg("col", quote_ident(column.column)),
      fmt::arg("table", qualified(spec.schema, spec.table)),
      fmt::arg("range", range_condition(spec, has_after, has_upto, 1)),
      fmt::arg("alias", quote_ident(spec.table)), fmt::arg("check", column.check));
}

std::string PostgresDialect::backfill_range_rows_sql(const plan::BackfillSpec& spec, bool has_after,
                                                     bool has_upto) const {
  return fmt::format("SELECT count(*) FROM {} WHERE {}", qualified(spec.schema, spec.table),
                     range_condition(spec, has_after, has_upto, 1));
}

std::string PostgresDialect::backfill_nth_key_sql(const plan::BackfillSpec& spec, bool has_after,
                                                  bool has_upto) const {
  const size_t n = spec.key_columns.size();
  std::string keys = key_tuple(spec.key_columns);
  std::string cols = keys.substr(1, keys.size() - 2);
  size_t offset_param = (has_after ? n : 0) + (has_upto ? n : 0) + 1;
  return fmt::format("SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT 1 OFFSET ${}", cols,
                     qualified(spec.schema, spec.table),
                     range_condition(spec, has_after, has_upto, 1), cols, offset_param);
}

std::string PostgresDialect::backfill_sample_keys_sql(const plan::BackfillSpec& spec,
                                                      double percent, int limit) const {
  std::string keys = key_tuple(spec.key_columns);
  std::string cols = keys.substr(1, keys.size() - 2);
  return fmt::format("SELECT {} FROM {} TABLESAMPLE SYSTEM ({}) LIMIT {}", cols,
                     qualified(spec.schema, spec.table), percent, limit);
}

std::string PostgresDialect::fill_missing_sql(const plan::BackfillSpec& spec,
                                              const std::string& state_schema) const {
  // Rows still without a value in a NOT NULL column: a chunk at a time, found
  // by a scan (they are few: writes whose `up` failed inside the trigger).
  std::string keys = key_tuple(spec.key_columns);
  std::string cols = keys.substr(1, keys.size() - 2);
  const std::string table = qualified(spec.schema, spec.table);
  return fmt::format(
      "UPDATE {} SET {} WHERE {} AND {} IN (SELECT {} FROM {} WHERE {} LIMIT 1000) AND {}", table,
      fill_assignments(spec, state_schema), own_writes_guard(), keys, cols, table,
      pending_condition(spec), pending_condition(spec));
}

std::string PostgresDialect::missing_keys_sql(const plan::BackfillSpec& spec) const {
  std::string keys = key_tuple(spec.key_columns);
  std::string cols = keys.substr(1, keys.size() - 2);
  return fmt::format("SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT 5", cols,
                     qualified(spec.schema, spec.table), pending_condition(spec), cols);
}

}  // namespace colshift::postgres
