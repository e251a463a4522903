// The outbox events around CREATE INDEX CONCURRENTLY: it runs outside any
// transaction, so its outcome cannot commit with an event; "started" is
// written before it, the outcome after, and a crash in between is settled
// from the catalog when the migration lock is next taken.
#include <fmt/format.h>

#include "run/runner.h"

namespace colshift::run {

void Runner::with_index_events(long long id, int step, const plan::Step& s,
                               const std::function<void()>& build) {
  reconcile_index_events(id);
  nlohmann::json detail = {{"step", step}, {"index", s.index_lookup}};
  state_->event(id, "", "index_started", detail);
  try {
    build();
  } catch (const DbError& e) {
    // A lost session leaves the outcome unknown: the next attempt (or run)
    // reconciles it from the catalog.
    if (!e.connection_lost()) {
      detail["error"] = e.what();
      state_->event(id, "", "index_failed", detail);
    }
    throw;
  }
  state_->event(id, "", "index_completed", detail);
}

void Runner::reconcile_index_events(long long id) {
  // index_started events with no later outcome for the same step.
  auto open_builds = main_->exec(
      fmt::format("SELECT s.detail->>'step', s.detail->>'index', s.id FROM {e} s "
                  "WHERE s.migration_id = $1 AND s.kind = 'index_started' AND NOT EXISTS ("
                  "SELECT 1 FROM {e} o WHERE o.migration_id = s.migration_id AND o.id > s.id "
                  "AND o.kind IN ('index_completed', 'index_failed', 'index_started') "
                  "AND o.detail->'step' = s.detail->'step') ORDER BY s.id",
                  fmt::arg("e", state_->table("events"))),
      {std::to_string(id)});
  for (size_t i = 0; i < open_builds.size(); ++i) {
    const std::string index = open_builds.text(i, 1);
    const bool valid =
        main_
            ->exec(
                "SELECT coalesce((SELECT indisvalid FROM pg_index WHERE indexrelid = "
                "to_regclass($1)), false)",
                {index})
            .boolean(0, 0);
    nlohmann::json detail = {{"step", std::stoi(open_builds.text(i, 0, "0"))},
                             {"index", index},
                             {"reconciled", true},
                             {"started_event", open_builds.integer(i, 2)}};
    if (!valid) detail["error"] = "the build did not finish (colshift stopped during it)";
    state_->event(id, "", valid ? "index_completed" : "index_failed", detail);
    say(fmt::format("  index {}: an earlier build's outcome recorded from the catalog ({})", index,
                    valid ? "valid" : "not built"));
  }
}

}  // namespace colshift::run
