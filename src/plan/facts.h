// What the planner knows about the database: gathered once by the dialect
// (Dialect::gather_facts), then the planner works from this value alone.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace colshift::plan {

struct ColumnFacts {
  std::string name;
  std::string type;  // format_type() text, e.g. "character varying(20)"
  bool not_null = false;
};

struct TableFacts {
  std::string schema;  // resolved schema
  std::string name;
  std::vector<ColumnFacts> columns;
  std::vector<std::string> primary_key;  // in key order; empty when none
  std::vector<std::string> primary_key_types;
  long long row_estimate = -1;  // -1: unknown
  long long total_bytes = -1;
  bool partitioned = false;  // a partitioned parent (PostgreSQL relkind 'p')
  const ColumnFacts* column(const std::string& n) const {
    for (const auto& c : columns)
      if (c.name == n) return &c;
    return nullptr;
  }
};

// Who feels a change to one table: read-only from the catalog before
// anything runs, shown in plan, docs and --json.
struct IndexImpact {
  std::string name;
  std::string definition;  // pg_get_indexdef
  long long bytes = 0;
  bool covers_changed = false;  // names a column the migration adds or changes
};

struct SlotImpact {
  std::string name;
  std::string type;    // "logical" or "physical"
  std::string plugin;  // logical: output plugin
  bool active = false;
  long long lag_bytes = -1;  // WAL the slot holds back; -1: unknown
  std::string client;        // active: the walsender's application_name (a subscription's name)
};

struct StatementImpact {
  long long calls = 0;
  double mean_ms = 0;
  std::string query;
};

struct TableImpact {
  std::string table;                         // schema.name
  std::vector<std::string> changed_columns;  // what the migration adds or changes
  long long rows = -1;
  long long heap_bytes = -1;
  long long index_bytes = -1;
  int fillfactor = 100;
  std::vector<IndexImpact> indexes;
  std::vector<std::string> views;      // "schema.name (view|materialized view)"
  std::vector<std::string> functions;  // "schema.name(args) (recorded|named in its body)"
  std::vector<std::string> triggers;   // "name (BEFORE INSERT OR UPDATE ...)", not colshift's
  std::vector<std::string> foreign_keys_out;  // "name: (cols) -> other(cols)"
  std::vector<std::string> foreign_keys_in;   // "other.name: other(cols) -> (cols)"
  bool row_security = false;
  std::vector<std::string> policies;      // "name (FOR cmd)"
  std::vector<std::string> publications;  // "name" or "name (FOR ALL TABLES)"
  std::vector<SlotImpact> slots;          // of this database (logical) and physical ones
  bool statements_available = false;      // pg_stat_statements installed and readable
  std::vector<StatementImpact> statements;
};

// One publication that publishes a table (logical replication), as the
// publisher's catalog says (PostgreSQL 15+ for column lists, row filters and
// FOR TABLES IN SCHEMA).
struct PublicationFacts {
  std::string name;
  std::string table;                 // "schema.name" it publishes
  std::string via;                   // "table", "all tables" (FOR ALL TABLES), "schema NAME"
  bool column_list = false;          // an explicit column list: only `columns` are replicated
  std::vector<std::string> columns;  // the column list, when there is one
  std::string row_filter;            // the WHERE expression; empty: none
};

// A subscription on a subscriber server (pg_subscription).
struct SubscriptionFacts {
  std::string name;
  std::string slot;  // its slot on the publisher
  std::vector<std::string> publications;
  bool enabled = true;
  long long apply_errors = -1;  // pg_stat_subscription_stats (PG 15+); -1: unknown
  long long sync_errors = -1;
};

// A column the migration adds, as one subscriber holds it.
struct SubscriberColumn {
  std::string table;  // "schema.name"
  std::string column;
  bool table_exists = false;
  bool present = false;
  std::string type;         // the subscriber's type (format_type), when present
  bool compatible = false;  // its type accepts the publisher's values (same type, or a cast)
};

// What a subscriber server holds of the migration's tables, read-only over a
// connection the user named (migration key `subscribers`, --subscriber).
struct SubscriberFacts {
  std::string label;  // as named: an environment variable's name or the URL, password redacted
  std::string error;  // empty: read; else why it could not be (connection refused, ...)
  std::vector<SubscriptionFacts> subscriptions;
  // Every column the migration adds to a table it publishes, checked on the
  // subscriber's copy of the table (same schema and name, as replication maps them).
  std::vector<SubscriberColumn> columns;
};

struct CatalogFacts {
  bool offline = true;  // no database: estimates unknown, PG version assumed
  int server_version = 150000;
  std::string default_schema = "public";
  // Keyed by the table name as written in the migration (TableName::display()).
  std::map<std::string, TableFacts> tables;
  // Tables named in the migration that do not exist.
  std::set<std::string> missing_tables;
  // Index names (schema-qualified "schema.name") that exist already.
  std::set<std::string> existing_indexes;
  // Volatility ('i', 's', 'v') of functions named in default expressions;
  // the most volatile overload wins. Offline: from the dialect's table of
  // built-in functions, any other function 'v'.
  std::map<std::string, char> function_volatility;
  // Per table the migration changes, in the order first named (online only).
  std::vector<TableImpact> impact;
  // Publications of the tables the migration names (online only).
  std::vector<PublicationFacts> publications;
  // Subscribers the user named, read before planning (plan --subscriber, start).
  std::vector<SubscriberFacts> subscribers;
  // What the dialect assumed rather than read, in the user's words; the plan
  // shows them as notes.
  std::vector<std::string> notes;
};

}  // namespace colshift::plan
