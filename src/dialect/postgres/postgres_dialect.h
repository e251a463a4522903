// PostgreSQL implementation of Dialect. Operation planners live one per file
// (add_column.cc, create_index.cc, raw_sql.cc); facts.cc reads the catalog;
// backfill_sql.cc builds the batch statements.
#pragma once

#include <map>
#include <optional>

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

  std::string stats_clear_snapshot_sql() const override;
  std::string database_counters_sql() const override;
  std::string counter_total_sql() const override;
  std::string table_lock_waiters_sql() const override;
  std::string idle_in_transaction_sql() const override;
  std::string replica_lag_sql() const override;
  std::string wal_position_sql() const override;
  std::string autovacuum_on_tables_sql() const override;
  std::vector<std::string> guard_query_begin(long long timeout_ms) const override;
  std::string end_transaction_sql(bool commit) const override;

  std::vector<std::string> session_setup(int server_version,
                                         std::string_view application_name) const override;
  std::string busy_sessions_sql() const override;
  std::string backend_pid_sql() const override;
  std::string end_session_sql() const override;
  std::string blocking_sessions_sql() const override;
  std::string index_builders_sql() const override;
  std::vector<std::string> backfill_session_setup() const override;
  std::string backfill_boundary_sql(const plan::BackfillSpec& spec, bool has_after) const override;
  std::string backfill_max_key_sql(const plan::BackfillSpec& spec) const override;
  std::string backfill_update_sql(const plan::BackfillSpec& spec, bool has_after, bool has_upto,
                                  const std::string& state_schema) const override;
  std::string backfill_split_keys_sql(const plan::BackfillSpec& spec, double percent,
                                      int parts) const override;
  std::string load_probe_sql(const plan::BackfillSpec& spec) const override;
  std::string active_sessions_sql() const override;
  std::string backfill_count_sql(const plan::BackfillSpec& spec) const override;
  std::string backfill_batch_sql(const plan::BackfillSpec& spec, bool has_after,
                                 const std::string& state_schema) const override;
  std::string backfill_probe_sql(const plan::BackfillSpec& spec, bool has_after, bool has_upto,
                                 bool before_expand) const override;
  std::string check_probe_sql(const plan::BackfillSpec& spec, const plan::BackfillColumn& column,
                              bool has_after, bool has_upto) const override;
  std::string backfill_range_rows_sql(const plan::BackfillSpec& spec, bool has_after,
                                      bool has_upto) const override;
  std::string backfill_nth_key_sql(const plan::BackfillSpec& spec, bool has_after,
                                   bool has_upto) const override;
  std::string backfill_sample_keys_sql(const plan::BackfillSpec& spec, double percent,
                                       int limit) const override;
  std::string fill_missing_sql(const plan::BackfillSpec& spec,
                               const std::string& state_schema) const override;
  std::string missing_keys_sql(const plan::BackfillSpec& spec) const override;

  // Who feels a change to table `t` (pg_class oid `oid`) whose columns
  // `changed` the migration adds or changes (impact.cc).
  // `pubs`: the table's publications (read_publications).
  plan::TableImpact read_impact(Connection& conn, const std::string& oid, const plan::TableFacts& t,
                                const std::vector<std::string>& changed,
                                const std::vector<plan::PublicationFacts>& pubs) const;
  // The publications that publish table `t` (oid `oid`), with their column
  // lists and row filters (impact.cc).
  std::vector<plan::PublicationFacts> read_publications(Connection& conn, const std::string& oid,
                                                        const plan::TableFacts& t) const;
  // Logical replication subscribers (subscriber.cc).
  plan::SubscriberFacts read_subscriber(Connection& sub, const migration::Migration& m,
                                        const plan::CatalogFacts& facts) const override;
  std::vector<plan::SlotImpact> read_slots(Connection& conn) const override;
  SchemaSnapshot describe_tables(Connection& conn,
                                 const std::vector<std::string>& tables) const override;
  std::vector<std::string> list_tables(
      Connection& conn, const std::vector<std::string>& exclude_schemas) const override;
  std::string subscriber_add_column_sql(const std::string& schema, const std::string& table,
                                        const std::string& column,
                                        const std::string& type) const override;

  // Operation planners (one file each).
  std::vector<plan::Step> plan_add_column(const migration::AddColumn& op,
                                          const PlanContext& ctx) const;
  std::vector<plan::Step> plan_create_index(const migration::CreateIndex& op,
                                            const PlanContext& ctx) const;
  std::vector<plan::Step> plan_raw_sql(const migration::RawSql& op, const PlanContext& ctx) const;

  // A name for an object colshift creates: "colshift_<kind>_<parts joined by
  // _>_<hash>", the readable part shortened to fit PostgreSQL's 63-byte limit.
  // The hash covers `kind` and every part exactly (not their joined text), so
  // table a_b column c and table a column b_c never share a name.
  static std::string object_name(const std::string& kind, const std::vector<std::string>& parts);
  // A dollar-quote tag ("$colshift$", "$colshift_1$", ...) that `body` does not contain.
  static std::string dollar_tag(const std::string& body);
  // "(a, b)" of quoted key columns.
  std::string key_tuple(const std::vector<std::string>& cols) const;

  // True when an index column as written (ordering split off) is a plain
  // column name, which colshift quotes (so SignupSource and order work);
  // anything else is an expression inserted as written.
  static bool is_plain_name(const std::string& expr);
  // The SQL of one index column or expression (ordering split off): a plain
  // name quoted, an expression parenthesised. The planner's CREATE INDEX and
  // gather_facts' check both use it.
  std::string index_item(const std::string& expr) const;

 private:
  // Pieces of the backfill statements (backfill_sql.cc).
  std::string own_writes_guard() const;
  std::string range_condition(const plan::BackfillSpec& spec, bool has_after, bool has_upto,
                              size_t first_param) const;
  std::string pending_condition(const plan::BackfillSpec& spec) const;
  std::string fill_value(const plan::BackfillColumn& c, const plan::BackfillSpec& spec,
                         const std::string& state_schema) const;
  std::string fill_assignments(const plan::BackfillSpec& spec,
                               const std::string& state_schema) const;
};

// Functions called in an SQL expression (lower-cased, unqualified names).
// Throws Error(kBadInput) when the expression does not parse; `where` names
// the migration's file position.
std::vector<std::string> expression_functions(const std::string& expr, const std::string& where);
// Same, for an expression of `m` written at `pos`: a parse error points at the
// offending byte (migration::excerpt).
std::vector<std::string> expression_functions(const std::string& expr,
                                              const migration::Migration& m,
                                              const migration::SourcePos& pos);

// The volatility ('i', 's' or 'v') of a PostgreSQL built-in or common
// extension function (lower-case, unqualified), as pg_proc.provolatile reads
// on PostgreSQL 15 for its most volatile overload; nullopt when not in the
// table (volatility.cc). Offline plans use it in place of pg_proc.
std::optional<char> builtin_volatility(const std::string& function);
// The whole table, for the test that compares it with a server.
const std::map<std::string, char>& builtin_volatility_table();

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
