// Who feels a change to a table, read-only from PostgreSQL's catalog: size,
// indexes and what a backfilled row costs them, dependent views, functions
// and triggers, foreign keys both ways, row-level security, publications and
// replication slots, and the most frequent statements (pg_stat_statements).
// Runs inside gather_facts' READ ONLY transaction; the optional parts run
// under a savepoint so a missing privilege or extension only hides them.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "dialect/postgres/postgres_dialect.h"
#include "util/text.h"

namespace colshift::postgres {
namespace {

// Runs `body` under a savepoint: a failure (no privilege, extension not
// loaded) rolls back to it and leaves the transaction usable.
template <typename F>
void optional_part(Connection& conn, F body) {
  conn.exec("SAVEPOINT colshift_impact");
  try {
    body();
    conn.exec("RELEASE SAVEPOINT colshift_impact");
  } catch (const DbError& e) {
    if (e.connection_lost()) throw;
    conn.exec("ROLLBACK TO SAVEPOINT colshift_impact");
    conn.exec("RELEASE SAVEPOINT colshift_impact");
  }
}

// A case-insensitive whole-word regular expression for any of `words`
// (PostgreSQL's \m and \M), each escaped.
std::string word_pattern(const std::vector<std::string>& words) {
  std::vector<std::string> escaped;
  for (const auto& w : words) {
    std::string e;
    for (char c : w) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) e += '\\';
      e += c;
    }
    escaped.push_back(e);
  }
  return "\\m(" + join(escaped, "|") + ")\\M";
}

}  // namespace

std::vector<plan::PublicationFacts> PostgresDialect::read_publications(
    Connection& conn, const std::string& oid, const plan::TableFacts& t) const {
  std::vector<plan::PublicationFacts> out;
  if (conn.server_version() < 100000) return out;
  const bool v15 = conn.server_version() >= 150000;
  // pg_publication_tables covers FOR ALL TABLES, FOR TABLES IN SCHEMA and
  // partitions; pg_publication_rel holds a table's own column list and row
  // filter (PostgreSQL 15+).
  auto r = conn.exec(
      fmt::format(
          "SELECT p.pubname, CASE WHEN p.puballtables THEN 'all tables' WHEN pr.oid IS NOT NULL "
          "THEN 'table' ELSE {} END, {}, {} FROM pg_publication p LEFT JOIN pg_publication_rel pr "
          "ON pr.prpubid = p.oid AND pr.prrelid = $1::oid WHERE EXISTS (SELECT 1 FROM "
          "pg_publication_tables pt WHERE pt.pubname = p.pubname AND ((pt.schemaname = $2 AND "
          "pt.tablename = $3) OR {})) ORDER BY 1",
          v15 ? "'schema ' || coalesce((SELECT string_agg(n.nspname, ', ') FROM "
                "pg_publication_namespace pn JOIN pg_namespace n ON n.oid = pn.pnnspid WHERE "
                "pn.pnpubid = p.oid), '?')"
              : "'table'",
          v15 ? "coalesce((SELECT string_agg(a.attname, E'\\x1f' ORDER BY a.attnum) FROM "
                "pg_attribute "
                "a WHERE a.attrelid = pr.prrelid AND a.attnum = ANY(pr.prattrs)), '')"
              : "''",
          v15 ? "coalesce(pg_get_expr(pr.prqual, pr.prrelid), '')" : "''",
          // A partitioned table is published through its partitions, unless
          // publish_via_partition_root names the root itself.
          conn.server_version() >= 120000
              ? "to_regclass(quote_ident(pt.schemaname) || '.' || quote_ident(pt.tablename)) IN "
                "(SELECT relid FROM pg_partition_tree($1::oid))"
              : "false"),
      {oid, t.schema, t.name});
  for (size_t i = 0; i < r.size(); ++i) {
    plan::PublicationFacts p;
    p.name = r.text(i, 0);
    p.table = t.schema + "." + t.name;
    p.via = r.text(i, 1);
    if (std::string cols = r.text(i, 2); !cols.empty()) {
      p.column_list = true;
      for (size_t at = 0; at <= cols.size();) {
        size_t end = std::min(cols.find('\x1f', at), cols.size());
        p.columns.push_back(cols.substr(at, end - at));
        at = end + 1;
      }
    }
    p.row_filter = r.text(i, 3);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<plan::SlotImpact> PostgresDialect::read_slots(Connection& conn) const {
  std::vector<plan::SlotImpact> out;
  auto slots = conn.exec(
      "SELECT s.slot_name, s.slot_type, coalesce(s.plugin, ''), s.active, CASE WHEN "
      "pg_is_in_recovery() THEN NULL WHEN s.slot_type = 'logical' THEN "
      "pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint ELSE "
      "pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint END, "
      "coalesce((SELECT r.application_name FROM pg_stat_replication r WHERE r.pid = "
      "s.active_pid), '') FROM pg_replication_slots s WHERE s.slot_type = 'physical' OR "
      "s.database = current_database() ORDER BY 1");
  for (size_t i = 0; i < slots.size(); ++i) {
    out.push_back({slots.text(i, 0), slots.text(i, 1), slots.text(i, 2), slots.boolean(i, 3),
                   slots.integer(i, 4, -1), slots.text(i, 5)});
  }
  return out;
}

plan::TableImpact PostgresDialect::read_impact(
    Connection& conn, const std::string& oid, const plan::TableFacts& t,
    const std::vector<std::string>& changed,
    const std::vector<plan::PublicationFacts>& pubs) const {
  plan::TableImpact im;
  im.table = t.schema + "." + t.name;
  im.changed_columns = changed;
  im.rows = t.row_estimate;
  auto size = conn.exec(
      "SELECT pg_table_size(c.oid), pg_indexes_size(c.oid), c.relrowsecurity, "
      "coalesce((SELECT option_value::int FROM pg_options_to_table(c.reloptions) WHERE "
      "option_name = 'fillfactor'), 100) FROM pg_class c WHERE c.oid = $1::oid",
      {oid});
  im.heap_bytes = size.integer(0, 0, -1);
  im.index_bytes = size.integer(0, 1, -1);
  im.row_security = size.boolean(0, 2);
  im.fillfactor = static_cast<int>(size.integer(0, 3, 100));

  const std::string changed_array = "{" + join(changed, ",") + "}";
  auto idx = conn.exec(
      "SELECT ci.relname, pg_get_indexdef(i.indexrelid), pg_relation_size(i.indexrelid), "
      "EXISTS (SELECT 1 FROM unnest(i.indkey) k JOIN pg_attribute a ON a.attrelid = i.indrelid "
      "AND a.attnum = k WHERE a.attname = ANY($2::text[])) OR ((i.indexprs IS NOT NULL OR "
      "i.indpred IS NOT NULL) AND cardinality($2::text[]) > 0 AND pg_get_indexdef(i.indexrelid) "
      "~* $3) FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid WHERE i.indrelid = "
      "$1::oid ORDER BY ci.relname",
      {oid, changed_array, changed.empty() ? std::string("^$") : word_pattern(changed)});
  for (size_t i = 0; i < idx.size(); ++i) {
    im.indexes.push_back({idx.text(i, 0), idx.text(i, 1), idx.integer(i, 2), idx.boolean(i, 3)});
  }

  auto views = conn.exec(
      "SELECT DISTINCT n.nspname || '.' || c.relname, CASE c.relkind WHEN 'm' THEN "
      "'materialized view' ELSE 'view' END FROM pg_depend d JOIN pg_rewrite r ON r.oid = "
      "d.objid JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = "
      "c.relnamespace WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = "
      "'pg_class'::regclass AND d.refobjid = $1::oid AND c.oid <> $1::oid ORDER BY 1",
      {oid});
  for (size_t i = 0; i < views.size(); ++i)
    im.views.push_back(fmt::format("{} ({})", views.text(i, 0), views.text(i, 1)));

  // Functions: a recorded dependency (SQL-standard bodies), or the table's or
  // a changed column's name in the body, where PostgreSQL records nothing.
  std::vector<std::string> words = {t.name};
  words.insert(words.end(), changed.begin(), changed.end());
  auto fns = conn.exec(
      "SELECT p.oid::regprocedure::text, bool_or(d.objid IS NOT NULL) FROM pg_proc p JOIN "
      "pg_namespace n ON n.oid = p.pronamespace LEFT JOIN pg_depend d ON d.classid = "
      "'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_class'::regclass AND "
      "d.refobjid = $1::oid WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND "
      "n.nspname NOT LIKE 'pg\\_%' AND p.proname NOT LIKE 'colshift\\_%' AND (d.objid IS NOT "
      "NULL OR p.prosrc ~* $2) GROUP BY 1 ORDER BY 1 LIMIT 50",
      {oid, word_pattern(words)});
  for (size_t i = 0; i < fns.size(); ++i) {
    im.functions.push_back(
        fmt::format("{} ({})", fns.text(i, 0),
                    fns.boolean(i, 1) ? "recorded dependency" : "named in its body"));
  }

  auto trg = conn.exec(
      "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = $1::oid AND NOT "
      "tgisinternal AND tgname NOT LIKE 'colshift\\_%' ORDER BY tgname",
      {oid});
  for (size_t i = 0; i < trg.size(); ++i) {
    // "CREATE [CONSTRAINT] TRIGGER name AFTER ..." -> "name: AFTER ..."
    const std::string name = trg.text(i, 0);
    std::string def = trg.text(i, 1);
    size_t at = def.find(name);
    if (at != std::string::npos) {
      size_t end = at + name.size();
      if (end < def.size() && def[end] == '"') ++end;
      def = def.substr(std::min(def.size(), end + 1));
    }
    im.triggers.push_back(fmt::format("{}: {}", name, def));
  }

  auto fk_out = conn.exec(
      "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::oid "
      "AND contype = 'f' ORDER BY conname",
      {oid});
  for (size_t i = 0; i < fk_out.size(); ++i)
    im.foreign_keys_out.push_back(fmt::format("{}: {}", fk_out.text(i, 0), fk_out.text(i, 1)));
  auto fk_in = conn.exec(
      "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
      "WHERE confrelid = $1::oid AND contype = 'f' AND conrelid <> $1::oid ORDER BY 1, 2",
      {oid});
  for (size_t i = 0; i < fk_in.size(); ++i) {
    im.foreign_keys_in.push_back(
        fmt::format("{}.{}: {}", fk_in.text(i, 0), fk_in.text(i, 1), fk_in.text(i, 2)));
  }

  auto pol = conn.exec(
      "SELECT polname, CASE polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' "
      "THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END FROM pg_policy WHERE polrelid = "
      "$1::oid ORDER BY polname",
      {oid});
  for (size_t i = 0; i < pol.size(); ++i)
    im.policies.push_back(fmt::format("{} (FOR {})", pol.text(i, 0), pol.text(i, 1)));

  if (conn.server_version() >= 100000) {
    for (const auto& p : pubs) {
      std::string how;
      if (p.via == "all tables") how = "FOR ALL TABLES";
      if (p.via.rfind("schema ", 0) == 0) how = "FOR TABLES IN SCHEMA " + p.via.substr(7);
      if (p.column_list) how += (how.empty() ? "" : ", ") + ("columns " + join(p.columns, ", "));
      if (!p.row_filter.empty()) how += (how.empty() ? "" : ", ") + ("WHERE " + p.row_filter);
      im.publications.push_back(p.name + (how.empty() ? "" : " (" + how + ")"));
    }
    optional_part(conn, [&] { im.slots = read_slots(conn); });
  }

  auto pss = conn.exec(
      "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
      "WHERE e.extname = 'pg_stat_statements'");
  if (!pss.empty()) {
    const std::string mean = conn.server_version() >= 130000 ? "mean_exec_time" : "mean_time";
    optional_part(conn, [&] {
      auto st = conn.exec(
          fmt::format("SELECT calls, {}, query FROM {}.pg_stat_statements WHERE dbid = (SELECT "
                      "oid FROM pg_database WHERE datname = current_database()) AND query ~* $1 "
                      "ORDER BY calls DESC LIMIT 5",
                      mean, quote_ident(pss.text(0, 0))),
          {word_pattern({t.name})});
      im.statements_available = true;
      for (size_t i = 0; i < st.size(); ++i) {
        im.statements.push_back({st.integer(i, 0), std::stod(st.text(i, 1, "0")), st.text(i, 2)});
      }
    });
  }
  return im;
}

}  // namespace colshift::postgres
