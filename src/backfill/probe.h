// Finding the row an `up` expression fails on, read-only.
//
// A backfill batch that fails (an expression raises, or gives NULL for a NOT
// NULL column) is rolled back whole; these probes evaluate the expressions
// over halves of its key range until one row is left, so the error names the
// row. The same probes make start's pre-flight: before expand, the
// expressions are evaluated over a sample of the existing rows (all of them
// on a small table), so a bad `up` is refused before anything changes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dialect/connection.h"
#include "dialect/dialect.h"
#include "plan/plan.h"

namespace colshift::backfill {

using Key = std::vector<std::string>;

// One row an expression cannot fill.
struct RowFailure {
  Key key;             // empty when the failure could not be pinned to a row
  std::string column;  // the column whose expression failed (empty when unknown)
  std::string expression;
  std::string error;        // the server's message; empty for a NULL
  std::string code;         // SQLSTATE; empty for a NULL
  bool null_value = false;  // the expression gave NULL for a NOT NULL column
  std::string check;        // the CHECK the row would fail (pre-flight), if that is the failure
};

// The first row of (after, upto] (an empty key: open end) that needs a value
// and whose expressions fail; nullopt when every row there is fine. With
// `before_expand` the new columns do not exist yet and every row counts.
std::optional<RowFailure> find_failing_row(Connection& conn, const Dialect& dialect,
                                           const plan::BackfillSpec& spec, Key after, Key upto,
                                           bool before_expand);

// Pre-flight before expand: evaluates the expressions on every row of a table
// of at most `kPreflightAllRows` rows (by estimate), else on the first 1,000
// rows and 20 random runs of 500. Returns the first failure found.
inline constexpr long long kPreflightAllRows = 100'000;
std::optional<RowFailure> preflight(Connection& conn, const Dialect& dialect,
                                    const plan::BackfillSpec& spec, long long row_estimate);

// "(id)=(42)" for messages.
std::string describe_key(const plan::BackfillSpec& spec, const Key& key);
// One sentence: what failed where ("'up' of orders.n failed for the row (id)=(4): ...").
std::string describe_failure(const plan::BackfillSpec& spec, const RowFailure& f);
// What to do about it, by error class.
std::string failure_hint(const RowFailure& f);

}  // namespace colshift::backfill
