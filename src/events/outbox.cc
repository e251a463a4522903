#include "events/outbox.h"

#include <fmt/format.h>

#include <regex>

#include "dialect/dialect.h"
#include "util/error.h"

namespace colshift::events {
namespace {

std::string events_table(const std::string& schema) {
  const auto& d = postgres_dialect();
  return d.quote_ident(schema) + "." + d.quote_ident("events");
}

}  // namespace

std::vector<Event> read_after(Connection& conn, const std::string& schema, long long after_id,
                              int limit, const std::string& migration) {
  auto r = conn.exec(
      fmt::format("SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
                  "coalesce(migration_id, 0), coalesce(migration, ''), kind, detail::text "
                  "FROM {} WHERE id > $1 AND ($3::text IS NULL OR migration = $3) "
                  "ORDER BY id LIMIT $2",
                  events_table(schema)),
      {std::to_string(after_id), std::to_string(limit),
       migration.empty() ? Param{} : Param{migration}});
  std::vector<Event> out;
  for (size_t i = 0; i < r.size(); ++i) {
    Event e;
    e.id = r.integer(i, 0);
    e.at = r.text(i, 1);
    e.migration_id = r.integer(i, 2);
    e.migration = r.text(i, 3);
    e.kind = r.text(i, 4);
    e.detail = nlohmann::json::parse(r.text(i, 5, "{}"));
    out.push_back(std::move(e));
  }
  return out;
}

long long cursor_before(Connection& conn, const std::string& schema, const std::string& since) {
  static const std::regex number(R"(^\s*[0-9]+\s*$)");
  if (std::regex_match(since, number)) return std::stoll(since);
  try {
    return conn
        .exec(fmt::format("SELECT coalesce(max(id), 0) FROM {} WHERE at < $1::timestamptz",
                          events_table(schema)),
              {since})
        .integer(0, 0);
  } catch (const DbError& e) {
    if (e.error_class() != DbErrorClass::kUserError && e.error_class() != DbErrorClass::kOther)
      throw;
    throw Error(ErrorKind::kUsage,
                fmt::format("--since: '{}' is neither an event id nor a timestamp", since), {},
                "give an event id (events after it) or a time such as '2026-12-01 16:00Z'");
  }
}

long long last_id(Connection& conn, const std::string& schema) {
  return conn.exec(fmt::format("SELECT coalesce(max(id), 0) FROM {}", events_table(schema)))
      .integer(0, 0);
}

nlohmann::json to_json(const Event& e) {
  return {{"id", e.id},
          {"at", e.at},
          {"migration_id", e.migration_id ? nlohmann::json(e.migration_id) : nlohmann::json()},
          {"migration", e.migration},
          {"kind", e.kind},
          {"detail", e.detail}};
}

std::string cloud_event_type(const std::string& kind) { return "dev.colshift." + kind; }

std::string cloud_event_id(const std::string& database, const std::string& schema, long long id) {
  return fmt::format("{}.{}.{}", database, schema, id);
}

nlohmann::json cloud_event(const Event& e, const std::string& database, const std::string& schema) {
  return {{"specversion", "1.0"},
          {"id", cloud_event_id(database, schema, e.id)},
          {"source", fmt::format("colshift://{}/{}", database, schema)},
          {"type", cloud_event_type(e.kind)},
          {"subject", e.migration},
          {"time", e.at},
          {"datacontenttype", "application/json"},
          {"data", to_json(e)}};
}

}  // namespace colshift::events
