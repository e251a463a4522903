// What the status page shows, read from colshift's state: the migrations in
// flight with their backfills, and the recent events. One Snapshot is both the
// JSON endpoint's answer (to_json) and what the HTML is rendered from.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dialect/connection.h"
#include "events/outbox.h"
#include "state/state.h"

namespace colshift::serve {

struct BackfillView {
  int step = 0;
  std::string table;
  std::string columns;  // "a,b"
  long long rows_done = 0;
  long long rows_total = 0;
  double percent = 0;
  double rows_per_second = 0;  // recent rate (the server's samples), else the average
  double eta_seconds = -1;     // -1: unknown
  std::string throttle;        // why it waits, while it waits
  bool done = false;
  // Rate over time: (seconds since the first sample, rows/s), oldest first.
  std::vector<std::pair<double, double>> rate_history;
};

struct MigrationView {
  long long id = 0;
  std::string name, purpose, phase, started_at, applied_by, error;
  int steps_done = 0, steps_total = 0;
  bool running = false;  // a colshift process holds the migration lock
  bool paused = false;
  std::vector<BackfillView> backfills;
  std::vector<state::GuardRecord> guards;  // latest reading of each guard
};

struct Snapshot {
  std::string database, schema, generated_at;
  bool initialized = false;
  std::vector<MigrationView> migrations;     // in flight (not completed / rolled back)
  std::string last_finished;                 // "name (phase)" of the newest finished one
  std::vector<events::Event> recent_events;  // newest first
};

nlohmann::json to_json(const Snapshot& s);

// Remembers backfill progress between snapshots to give the recent rate and
// its history. Not thread-safe: one reader (the server's poller) uses it.
class RateTracker {
 public:
  // Adds a sample of (migration, step) and returns the rate over the last few
  // seconds (rows/s; -1 until there are two samples).
  double sample(long long migration, int step, long long rows_done,
                std::chrono::steady_clock::time_point now);
  std::vector<std::pair<double, double>> history(long long migration, int step) const;

 private:
  struct Series {
    std::chrono::steady_clock::time_point first;
    std::deque<std::pair<std::chrono::steady_clock::time_point, long long>> recent;
    std::deque<std::pair<double, double>> rates;  // at most kMaxPoints
  };
  std::map<std::pair<long long, int>, Series> series_;
};

// Reads a snapshot on `conn` (read-only). `tracker` may be null (no recent
// rate: the average since the backfill began).
Snapshot read_snapshot(Connection& conn, const std::string& schema, RateTracker* tracker,
                       int event_limit = 20);

}  // namespace colshift::serve
