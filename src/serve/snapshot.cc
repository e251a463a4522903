#include "serve/snapshot.h"

#include <fmt/format.h>

#include <algorithm>

#include "plan/plan.h"
#include "state/state.h"
#include "util/text.h"

namespace colshift::serve {
namespace {

constexpr size_t kMaxPoints = 240;
constexpr double kRateWindowSeconds = 5;

}  // namespace

double RateTracker::sample(long long migration, int step, long long rows_done,
                           std::chrono::steady_clock::time_point now) {
  auto [it, fresh] = series_.try_emplace(std::make_pair(migration, step));
  Series& s = it->second;
  if (fresh) s.first = now;
  s.recent.emplace_back(now, rows_done);
  while (s.recent.size() > 2 &&
         std::chrono::duration<double>(now - s.recent.front().first).count() > kRateWindowSeconds)
    s.recent.pop_front();
  if (s.recent.size() < 2) return -1;
  double span = std::chrono::duration<double>(now - s.recent.front().first).count();
  if (span <= 0) return -1;
  double rate = static_cast<double>(rows_done - s.recent.front().second) / span;
  s.rates.emplace_back(std::chrono::duration<double>(now - s.first).count(), rate);
  if (s.rates.size() > kMaxPoints) s.rates.pop_front();
  return rate;
}

std::vector<std::pair<double, double>> RateTracker::history(long long migration, int step) const {
  auto it = series_.find({migration, step});
  if (it == series_.end()) return {};
  return {it->second.rates.begin(), it->second.rates.end()};
}

Snapshot read_snapshot(Connection& conn, const std::string& schema, RateTracker* tracker,
                       int event_limit) {
  Snapshot snap;
  snap.schema = schema;
  auto head = conn.exec(
      "SELECT current_database(), to_char(clock_timestamp() AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
  snap.database = head.text(0, 0);
  snap.generated_at = head.text(0, 1);
  state::StateStore store(conn, schema);
  snap.initialized = store.initialized();
  if (!snap.initialized) return snap;
  const auto now = std::chrono::steady_clock::now();
  if (auto active = store.active()) {
    MigrationView m;
    m.id = active->id;
    m.name = active->name;
    m.purpose = active->purpose;
    m.phase = active->phase;
    m.started_at = active->started_at;
    m.applied_by = active->applied_by;
    m.error = active->error;
    m.steps_done = active->steps_done;
    m.steps_total = active->steps_total;
    m.running = store.lock_held();
    m.paused = m.running && store.control().paused;
    auto p = plan::plan_from_json(active->plan);
    for (size_t i : p.steps_in(plan::Phase::kBackfill)) {
      auto cp = store.checkpoint(active->id, static_cast<int>(i));
      if (!cp) continue;
      const auto& spec = *p.steps[i].backfill;
      BackfillView b;
      b.step = static_cast<int>(i);
      b.table = spec.table;
      std::vector<std::string> cols;
      for (const auto& c : spec.columns) cols.push_back(c.column);
      b.columns = join(cols, ",");
      b.rows_done = cp->rows_done;
      b.rows_total = std::max(cp->rows_total, cp->rows_done);
      b.done = cp->done;
      b.percent = b.done ? 100
                  : b.rows_total > 0
                      ? 100.0 * static_cast<double>(b.rows_done) / static_cast<double>(b.rows_total)
                      : 0;
      b.throttle = cp->throttle;
      double recent = tracker ? tracker->sample(m.id, b.step, b.rows_done, now) : -1;
      b.rows_per_second = recent >= 0 ? recent
                          : cp->elapsed_seconds > 0
                              ? static_cast<double>(cp->rows_done) / cp->elapsed_seconds
                              : 0;
      if (b.done)
        b.eta_seconds = 0;
      else if (b.rows_per_second > 0)
        b.eta_seconds = static_cast<double>(b.rows_total - b.rows_done) / b.rows_per_second;
      if (tracker) b.rate_history = tracker->history(m.id, b.step);
      m.backfills.push_back(std::move(b));
    }
    m.guards = store.guards(active->id);
    snap.migrations.push_back(std::move(m));
  } else {
    auto hist = store.history();
    if (!hist.empty())
      snap.last_finished = fmt::format("{} ({})", hist.back().name, hist.back().phase);
  }
  auto newest =
      conn.exec(fmt::format("SELECT coalesce(max(id), 0) FROM {}", store.table("events")));
  long long after = std::max(0LL, newest.integer(0, 0) - event_limit);
  snap.recent_events = events::read_after(conn, schema, after, event_limit);
  std::reverse(snap.recent_events.begin(), snap.recent_events.end());
  return snap;
}

nlohmann::json to_json(const Snapshot& s) {
  nlohmann::json migrations = nlohmann::json::array();
  for (const auto& m : s.migrations) {
    nlohmann::json backfills = nlohmann::json::array();
    for (const auto& b : m.backfills) {
      nlohmann::json history = nlohmann::json::array();
      for (const auto& [t, r] : b.rate_history) history.push_back({t, r});
      backfills.push_back({{"step", b.step},
                           {"table", b.table},
                           {"columns", b.columns},
                           {"rows_done", b.rows_done},
                           {"rows_total", b.rows_total},
                           {"percent", b.percent},
                           {"rows_per_second", b.rows_per_second},
                           {"eta_seconds", b.eta_seconds},
                           {"throttle", b.throttle},
                           {"done", b.done},
                           {"rate_history", history}});
    }
    nlohmann::json guards = nlohmann::json::array();
    for (const auto& g : m.guards) {
      auto opt = [](const std::optional<double>& v) {
        return v ? nlohmann::json(*v) : nlohmann::json();
      };
      guards.push_back({{"name", g.name},
                        {"policy", g.policy},
                        {"threshold", g.threshold},
                        {"value", opt(g.value)},
                        {"baseline", opt(g.baseline)},
                        {"health", g.health},
                        {"tripped", g.tripped},
                        {"reason", g.reason},
                        {"decision", g.decision},
                        {"read_at", g.read_at}});
    }
    migrations.push_back({{"id", m.id},
                          {"name", m.name},
                          {"purpose", m.purpose},
                          {"phase", m.phase},
                          {"started_at", m.started_at},
                          {"applied_by", m.applied_by},
                          {"error", m.error},
                          {"steps_done", m.steps_done},
                          {"steps_total", m.steps_total},
                          {"running", m.running},
                          {"paused", m.paused},
                          {"backfills", backfills},
                          {"guards", guards}});
  }
  nlohmann::json recent = nlohmann::json::array();
  for (const auto& e : s.recent_events) recent.push_back(events::to_json(e));
  return {{"database", s.database},         {"schema", s.schema},
          {"generated_at", s.generated_at}, {"initialized", s.initialized},
          {"migrations", migrations},       {"last_finished", s.last_finished},
          {"recent_events", recent}};
}

}  // namespace colshift::serve
