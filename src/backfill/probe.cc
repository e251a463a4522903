#include "backfill/probe.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/text.h"

namespace colshift::backfill {
namespace {

struct ProbeOutcome {
  bool bad = false;
  bool null_value = false;
  std::string error;
  std::string code;
};

Params key_params(const Key& after, const Key& upto) {
  Params p;
  for (const auto& v : after) p.emplace_back(v);
  for (const auto& v : upto) p.emplace_back(v);
  return p;
}

ProbeOutcome probe(Connection& conn, const Dialect& d, const plan::BackfillSpec& spec,
                   const Key& after, const Key& upto, bool before_expand) {
  try {
    auto r = conn.exec(d.backfill_probe_sql(spec, !after.empty(), !upto.empty(), before_expand),
                       key_params(after, upto));
    if (r.integer(0, 0) > 0) return {true, true, {}, {}};
    return {};
  } catch (const DbError& e) {
    // Only the data's own failures are answers; a lost connection, a lock
    // wait or a cancel (Ctrl-C) is not.
    if (e.connection_lost() || e.retryable() || e.error_class() == DbErrorClass::kCanceled) throw;
    return {true, false, e.what(), e.code()};
  }
}

long long rows_in(Connection& conn, const Dialect& d, const plan::BackfillSpec& spec,
                  const Key& after, const Key& upto) {
  return conn
      .exec(d.backfill_range_rows_sql(spec, !after.empty(), !upto.empty()), key_params(after, upto))
      .integer(0, 0);
}

std::optional<Key> nth_key(Connection& conn, const Dialect& d, const plan::BackfillSpec& spec,
                           const Key& after, const Key& upto, long long offset) {
  Params p = key_params(after, upto);
  p.emplace_back(std::to_string(offset));
  auto r = conn.exec(d.backfill_nth_key_sql(spec, !after.empty(), !upto.empty()), p);
  if (r.empty()) return std::nullopt;
  Key k;
  for (size_t c = 0; c < r.columns().size(); ++c) k.push_back(r.text(0, c));
  return k;
}

// The first row of the runs whose new value would fail its column's CHECK.
std::optional<RowFailure> check_failure(Connection& conn, const Dialect& d,
                                        const plan::BackfillSpec& spec,
                                        const std::vector<std::pair<Key, Key>>& runs) {
  for (const auto& c : spec.columns) {
    if (c.check.empty()) continue;
    for (const auto& [after, upto] : runs) {
      QueryResult r;
      try {
        r = conn.exec(d.check_probe_sql(spec, c, !after.empty(), !upto.empty()),
                      key_params(after, upto));
      } catch (const DbError& e) {
        if (e.connection_lost() || e.error_class() == DbErrorClass::kCanceled) throw;
        break;  // e.g. a CHECK naming another new column: complete validates it
      }
      if (r.empty()) continue;
      RowFailure f;
      for (size_t i = 0; i < r.columns().size(); ++i) f.key.push_back(r.text(0, i));
      f.column = c.column;
      f.expression = c.expression;
      f.check = c.check;
      return f;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<RowFailure> find_failing_row(Connection& conn, const Dialect& d,
                                           const plan::BackfillSpec& spec, Key after, Key upto,
                                           bool before_expand) {
  ProbeOutcome whole = probe(conn, d, spec, after, upto, before_expand);
  if (!whole.bad) return std::nullopt;
  // Halve the range, keeping the first half that still fails.
  long long n = rows_in(conn, d, spec, after, upto);
  while (n > 1) {
    long long half = n / 2;
    auto mid = nth_key(conn, d, spec, after, upto, half - 1);
    if (!mid) break;
    if (probe(conn, d, spec, after, *mid, before_expand).bad) {
      upto = *mid;
      n = half;
    } else {
      after = *mid;
      n -= half;
    }
  }
  RowFailure f;
  auto key = nth_key(conn, d, spec, after, upto, 0);
  ProbeOutcome last = probe(conn, d, spec, after, upto, before_expand);
  if (!key || !last.bad) {
    // The rows changed under the search: report what the whole range said.
    f.error = whole.error;
    f.code = whole.code;
    f.null_value = whole.null_value;
    return f;
  }
  f.key = *key;
  f.error = last.error;
  f.code = last.code;
  f.null_value = last.null_value;
  // Which column's expression is it? Try each alone on that row.
  for (const auto& c : spec.columns) {
    plan::BackfillSpec one = spec;
    one.columns = {c};
    ProbeOutcome o = probe(conn, d, one, after, upto, before_expand);
    if (o.bad) {
      f.column = c.column;
      f.expression = c.expression;
      f.error = o.error;
      f.code = o.code;
      f.null_value = o.null_value;
      break;
    }
  }
  return f;
}

std::optional<RowFailure> preflight(Connection& conn, const Dialect& d,
                                    const plan::BackfillSpec& spec, long long row_estimate) {
  if (row_estimate >= 0 && row_estimate <= kPreflightAllRows) {
    if (auto f = find_failing_row(conn, d, spec, {}, {}, true)) return f;
    return check_failure(conn, d, spec, {{Key{}, Key{}}});
  }
  // The first rows, then runs of rows from random places.
  std::vector<std::pair<Key, Key>> runs;
  if (auto first = nth_key(conn, d, spec, {}, {}, 999)) runs.emplace_back(Key{}, *first);
  double rows = static_cast<double>(std::max(row_estimate, 1LL));
  double percent = std::clamp(100.0 * 2000.0 / rows, 0.001, 100.0);
  auto starts = conn.exec(d.backfill_sample_keys_sql(spec, percent, 20));
  for (size_t i = 0; i < starts.size(); ++i) {
    Key start;
    for (size_t c = 0; c < starts.columns().size(); ++c) start.push_back(starts.text(i, c));
    if (auto end = nth_key(conn, d, spec, start, {}, 499)) runs.emplace_back(start, *end);
  }
  if (runs.empty()) runs.emplace_back(Key{}, Key{});
  for (const auto& [after, upto] : runs) {
    if (auto f = find_failing_row(conn, d, spec, after, upto, true)) return f;
  }
  return check_failure(conn, d, spec, runs);
}

std::string describe_key(const plan::BackfillSpec& spec, const Key& key) {
  return fmt::format("({})=({})", join(spec.key_columns, ", "), join(key, ", "));
}

std::string describe_failure(const plan::BackfillSpec& spec, const RowFailure& f) {
  std::string column = f.column;
  if (column.empty()) {
    std::vector<std::string> names;
    for (const auto& c : spec.columns) names.push_back(c.column);
    column = join(names, "/");
  }
  std::string what = fmt::format("{}.{}", spec.table, column);
  std::string row = f.key.empty() ? "a row (it changed before colshift could name it)"
                                  : "the row " + describe_key(spec, f.key);
  if (f.null_value) {
    return fmt::format("'up' gives NULL for NOT NULL column {} at {}", what, row);
  }
  if (!f.check.empty()) {
    return fmt::format("the value 'up' gives {} at {} fails its CHECK ({})", what, row, f.check);
  }
  return fmt::format("'up' of {} fails for {}: {}{}", what, row, f.error,
                     f.code.empty() ? "" : " (SQLSTATE " + f.code + ")");
}

std::string failure_hint(const RowFailure& f) {
  if (!f.check.empty()) {
    return "complete would refuse to add the CHECK: change 'up' or the CHECK so every row "
           "passes, or fix that row's data";
  }
  if (f.null_value) {
    return "make 'up' give a value for every row (for example coalesce(..., <fallback>)), fix "
           "that row's data, or make the column nullable";
  }
  if (f.code == "22P02" || f.code.rfind("22", 0) == 0) {
    return "that row holds a value 'up' cannot convert or compute: guard it in 'up' (NULLIF, "
           "CASE, a regular expression test) or fix the row's data";
  }
  return "fix that row's data, or fix 'up' so it handles it";
}

}  // namespace colshift::backfill
