// Reading colshift's outbox (the events table, documented in state/state.h)
// and the shapes an event takes outside the database: a JSON line for
// `colshift events`, a CloudEvents 1.0 envelope for webhooks.
//
// Event JSON (one line of `colshift events`, and the `data` of a CloudEvent):
//   {"id": 42, "at": "2026-12-01T16:07:13.123456Z", "migration_id": 3,
//    "migration": "0003_users_email", "kind": "phase", "detail": {...}}
// detail by kind: started {purpose, steps, phase}; phase {phase, from};
// progress {step, rows_done, rows_total, percent, done}; index_started /
// index_completed / index_failed {step, index[, error][, reconciled]};
// failed / interrupted {during, error}; resumed {phase}; paused, resumed,
// throttle {set}, aborted {by, rows_done}; guard {guard, decision (pause, resume,
// rollback, warn, cleared, alert), policy, stage, source, threshold, value,
// baseline, reason, breaches, failed_reads, health}.
// Every event a colshift command writes also carries "by" in its detail: who
// ran the command ("dbuser (osuser@host)").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dialect/connection.h"

namespace colshift::events {

struct Event {
  long long id = 0;
  std::string at;  // RFC 3339, UTC, microseconds
  long long migration_id = 0;
  std::string migration;
  std::string kind;
  nlohmann::json detail = nlohmann::json::object();
};

// The channel colshift_event() notifies; its payload is {"schema","id","kind"}.
inline constexpr const char* kChannel = "colshift";

// Events with id > after_id, oldest first, at most `limit`; only migration
// `migration` (its name) when not empty.
std::vector<Event> read_after(Connection& conn, const std::string& schema, long long after_id,
                              int limit, const std::string& migration = {});
// The cursor for `--since`: a number is an event id (events after it come
// next); anything else a timestamp PostgreSQL reads ("2026-12-01 16:00Z"),
// giving the last event before it. Throws Error(kUsage) for text that is
// neither.
long long cursor_before(Connection& conn, const std::string& schema, const std::string& since);
// The newest event id (0 when there are none).
long long last_id(Connection& conn, const std::string& schema);

nlohmann::json to_json(const Event& e);

// "dev.colshift.<kind>", the CloudEvents type of an event.
std::string cloud_event_type(const std::string& kind);
// The CloudEvents id of an event: "<source>#<id>" is unique per source, but
// receivers dedupe on id alone, so the id carries the database and schema:
// "<database>.<schema>.<id>".
std::string cloud_event_id(const std::string& database, const std::string& schema, long long id);
// A CloudEvents 1.0 structured-mode envelope:
//   {"specversion": "1.0", "id", "source": "colshift://<database>/<schema>",
//    "type": "dev.colshift.<kind>", "subject": <migration>, "time": <at>,
//    "datacontenttype": "application/json", "data": <to_json(e)>}
nlohmann::json cloud_event(const Event& e, const std::string& database, const std::string& schema);

}  // namespace colshift::events
