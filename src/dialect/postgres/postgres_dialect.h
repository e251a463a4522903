// PostgreSQL implementation of Dialect. Operation planners live one per file
// (add_column.cc, create_index.cc, raw_sql.cc); facts.cc reads the catalog;
// backfill_sql.cc builds the batch statements.
#pragma once

#include "dialect/dialect.h"

namespace colshift::postgres {

class PostgresDialect final : public Dialect {
 public:
  std::string name() const override { return "postgresql"; }
  std::string quote_ident(std::string_view ident) const override;
  std::string quote_literal(std::string_view text) const override;

  plan::CatalogFacts gather_facts(Connection& conn, const migration::Migration& m) const override;
  plan::CatalogFacts offline_facts(const migration::Migration& m) const override;
  std::vector<plan::Step> plan_operation(const migration::Operation& op,
                                         const PlanContext& ctx) const override;

  std::vector<std::string> backfill_session_setup() const override;
  std::string backfill_boundary_sql(const plan::BackfillSpec& spec, bool has_after) const override;
  std::string backfill_max_key_sql(const plan::BackfillSpec& spec) const override;
  std::string backfill_update_sql(const plan::BackfillSpec& spec, bool has_after,
                                  bool has_upto) const override;
  std::string backfill_count_sql(const plan::BackfillSpec& spec) const override;
  std::string backfill_batch_sql(const plan::BackfillSpec& spec, bool has_after,
                                 const std::string& checkpoint_table) const override;

  // Operation planners (one file each).
  std::vector<plan::Step> plan_add_column(const migration::AddColumn& op,
                                          const PlanContext& ctx) const;
  std::vector<plan::Step> plan_create_index(const migration::CreateIndex& op,
                                            const PlanContext& ctx) const;
  std::vector<plan::Step> plan_raw_sql(const migration::RawSql& op, const PlanContext& ctx) const;

  // A name for an object colshift creates: "colshift_<parts joined by _>",
  // shortened with a hash suffix to fit PostgreSQL's 63-byte limit.
  static std::string object_name(const std::vector<std::string>& parts);
  // "(a, b)" of quoted key columns.
  std::string key_tuple(const std::vector<std::string>& cols) const;
};

// Functions called in an SQL expression (lower-cased, unqualified names).
// Throws Error(kBadInput) when the expression does not parse; `where` names
// the migration's file position.
std::vector<std::string> expression_functions(const std::string& expr, const std::string& where);

// Splits an index column as written ("score DESC NULLS LAST") into the column
// or expression and its ordering suffix ("DESC NULLS LAST", upper-cased; empty
// when none).
std::pair<std::string, std::string> split_index_ordering(const std::string& column);

// The PostgreSQL version a feature appeared in.
constexpr int kPgFastDefault = 110000;       // ADD COLUMN ... DEFAULT without rewrite
constexpr int kPgNotNullFromCheck = 120000;  // SET NOT NULL proven by a valid CHECK

// Estimated work rates for plan estimates (rows per second on modest hardware).
constexpr double kBackfillRowsPerSecond = 100'000;
constexpr double kIndexRowsPerSecond = 1'000'000;
constexpr double kValidateRowsPerSecond = 5'000'000;
constexpr double kRewriteRowsPerSecond = 500'000;  // table rewrite with its indexes

}  // namespace colshift::postgres
