// A logical replication subscriber, read-only: its subscriptions and its copy
// of the columns a migration adds on the publisher (plan/downstream.cc
// decides what they mean).
#include <fmt/format.h>

#include <algorithm>

#include "dialect/postgres/postgres_dialect.h"

namespace colshift::postgres {
namespace {

// Splits text joined with the unit separator (names may hold commas).
std::vector<std::string> unjoin(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  for (size_t at = 0; at <= text.size();) {
    size_t end = std::min(text.find('\x1f', at), text.size());
    out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

}  // namespace

plan::SubscriberFacts PostgresDialect::read_subscriber(Connection& sub,
                                                       const migration::Migration& m,
                                                       const plan::CatalogFacts& facts) const {
  plan::SubscriberFacts out;
  const bool stats = sub.server_version() >= 150000;
  auto subs = sub.exec(fmt::format(
      "SELECT s.subname, coalesce(s.subslotname, ''), array_to_string(s.subpublications, "
      "E'\\x1f'), s.subenabled, {} FROM pg_subscription s WHERE s.subdbid = (SELECT oid FROM "
      "pg_database WHERE datname = current_database()) ORDER BY 1",
      stats ? "coalesce((SELECT apply_error_count FROM pg_stat_subscription_stats st WHERE "
              "st.subid = s.oid), -1), coalesce((SELECT sync_error_count FROM "
              "pg_stat_subscription_stats st WHERE st.subid = s.oid), -1)"
            : "-1, -1"));
  for (size_t i = 0; i < subs.size(); ++i) {
    out.subscriptions.push_back({subs.text(i, 0), subs.text(i, 1), unjoin(subs.text(i, 2)),
                                 subs.boolean(i, 3), subs.integer(i, 4, -1),
                                 subs.integer(i, 5, -1)});
  }
  for (const auto& op : m.operations) {
    const auto* a = std::get_if<migration::AddColumn>(&op);
    if (!a) continue;
    auto it = facts.tables.find(a->table.display());
    if (it == facts.tables.end()) continue;
    const auto& t = it->second;
    // Text-mode replication feeds the publisher's text output to the
    // subscriber's input function: the same type, a string type, or an
    // implicit or assignment cast from the publisher's type is taken to fit.
    auto r = sub.exec(
        "SELECT c.oid IS NOT NULL, a.attname IS NOT NULL, coalesce(format_type(a.atttypid, "
        "a.atttypmod), ''), coalesce(a.atttypid = to_regtype($3) OR EXISTS (SELECT 1 FROM "
        "pg_cast WHERE castsource = to_regtype($3) AND casttarget = a.atttypid AND castcontext "
        "IN ('i', 'a')) OR (SELECT typcategory = 'S' FROM pg_type WHERE oid = a.atttypid), "
        "false) FROM (SELECT to_regclass($1) AS oid) c LEFT JOIN pg_attribute a ON a.attrelid = "
        "c.oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
        {qualified(t.schema, t.name), a->column.name, a->column.type});
    out.columns.push_back({t.schema + "." + t.name, a->column.name, r.boolean(0, 0),
                           r.boolean(0, 1), r.text(0, 2), r.boolean(0, 3)});
  }
  return out;
}

std::string PostgresDialect::subscriber_add_column_sql(const std::string& schema,
                                                       const std::string& table,
                                                       const std::string& column,
                                                       const std::string& type) const {
  return fmt::format("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}", qualified(schema, table),
                     quote_ident(column), type);
}

}  // namespace colshift::postgres
