// The dialect interface: every piece of engine-specific SQL that colshift
// generates comes from a Dialect. PostgreSQL is implemented in
// dialect/postgres/; SQLite and MySQL/MariaDB plug in here without touching the
// planner, runner or backfill loop.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dialect/connection.h"
#include "migration/migration.h"
#include "plan/facts.h"
#include "plan/plan.h"

namespace colshift {

// What an operation planner needs besides the operation and the facts.
struct PlanContext {
  std::string state_schema = "colshift";  // colshift's own schema
  std::string migration;                  // migration name
  int operation = 0;                      // index of the operation in the file
  const plan::CatalogFacts* facts = nullptr;
  // Every operation of the migration (raw_sql reads what runs before it).
  const std::vector<migration::Operation>* operations = nullptr;
};

// A key range for one backfill batch: rows with key > after (or from the start
// when `after` is empty) and key <= upto (or to the end when `upto` is empty).
struct KeyRange {
  std::vector<std::string> after;
  std::vector<std::string> upto;
};

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string name() const = 0;

  virtual std::string quote_ident(std::string_view ident) const = 0;
  virtual std::string quote_literal(std::string_view text) const = 0;
  std::string qualified(std::string_view schema, std::string_view name) const {
    return schema.empty() ? quote_ident(name) : quote_ident(schema) + "." + quote_ident(name);
  }

  // Reads what the planner needs about the tables, indexes and functions the
  // migration names, and checks the migration's SQL expressions against the
  // live schema (without changing anything). Throws Error(kBadInput) naming the
  // operation (file:line:col) when an expression does not fit the table.
  virtual plan::CatalogFacts gather_facts(Connection& conn,
                                          const migration::Migration& m) const = 0;

  // Facts for planning without a database: every table assumed to exist with
  // an `id` primary key, unknown size.
  virtual plan::CatalogFacts offline_facts(const migration::Migration& m) const = 0;

  // The steps for one operation: forward statements per phase, each with its
  // lock, cost and inverse. Throws Error(kBadInput) when the operation cannot
  // be applied to the schema the facts describe.
  virtual std::vector<plan::Step> plan_operation(const migration::Operation& op,
                                                 const PlanContext& ctx) const = 0;

  // --- backfill SQL (parameters are bound key values, as text) ---

  // Session setup for the backfill connection (e.g. switch off the dual-write
  // trigger for its own writes).
  virtual std::vector<std::string> backfill_session_setup() const = 0;
  // SELECT of the last key of the next batch: params = after-key values then
  // the batch size; returns no row when fewer rows remain.
  virtual std::string backfill_boundary_sql(const plan::BackfillSpec& spec,
                                            bool has_after) const = 0;
  // SELECT of the largest key in the table (no row when empty).
  virtual std::string backfill_max_key_sql(const plan::BackfillSpec& spec) const = 0;
  // UPDATE of one key range; params = after-key values (if any) then upto-key
  // values (if any). Affected rows = rows filled.
  virtual std::string backfill_update_sql(const plan::BackfillSpec& spec, bool has_after,
                                          bool has_upto) const = 0;
  // One whole batch in one statement (one round trip, atomic): the UPDATE of
  // the key range and the checkpoint row in `checkpoint_table`. Params: after
  // key values (if any), upto key values, then migration id, step, last key
  // (JSON array), batch size, done. Returns one row: the rows filled.
  virtual std::string backfill_batch_sql(const plan::BackfillSpec& spec, bool has_after,
                                         const std::string& checkpoint_table) const = 0;
  // Rows still to fill (estimate allowed): used for progress totals.
  virtual std::string backfill_count_sql(const plan::BackfillSpec& spec) const = 0;
};

// The dialect for a connection string (postgresql:// and keyword strings: PostgreSQL).
const Dialect& postgres_dialect();

}  // namespace colshift
