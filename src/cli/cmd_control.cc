// pause, resume, throttle, abort: live control of a running backfill from
// another terminal, through the control row that it reads before every batch.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "state/control_request.h"
#include "state/state.h"
#include "util/error.h"

namespace colshift::cli {
namespace {

// Opens the state store, or says there is nothing to control
// (state::require_running_start).
struct ControlSession {
  std::unique_ptr<Connection> conn;
  std::unique_ptr<state::StateStore> store;
  ControlSession(const GlobalOptions& g, const char* command) : conn(connect_db(g)) {
    store = std::make_unique<state::StateStore>(*conn, g.schema);
    state::require_running_start(*store, command);
    state::set_operator(*conn);  // the event says who paused, resumed or aborted
  }
};

void print_control(const GlobalOptions& g, state::StateStore& store, const std::string& what) {
  auto c = store.control();
  auto opt = [](const auto& o) -> nlohmann::json {
    return o ? nlohmann::json(*o) : nlohmann::json(nullptr);
  };
  if (g.json) {
    print_json({{"done", what},
                {"paused", c.paused},
                {"abort_requested", c.abort_requested},
                {"max_rate", opt(c.max_rate)},
                {"max_replica_lag_ms", opt(c.max_replica_lag_ms)},
                {"max_lock_waiters", opt(c.max_lock_waiters)},
                {"throttle_query", opt(c.throttle_query)},
                {"throttle_max", opt(c.throttle_max)},
                {"batch_size", opt(c.batch_size)}});
    return;
  }
  std::cout << what << "\n";
}

}  // namespace

CommandRun setup_pause(CLI::App& /*sub*/, const GlobalOptions& g) {
  return [&g]() -> int {
    ControlSession s(g, "pause");
    state::request_control(*s.store, "pause");
    print_control(g, *s.store,
                  "backfill paused: it stops before its next batch ('colshift resume' goes on)");
    return 0;
  };
}

CommandRun setup_resume(CLI::App& /*sub*/, const GlobalOptions& g) {
  return [&g]() -> int {
    ControlSession s(g, "resume");
    state::request_control(*s.store, "resume");
    print_control(g, *s.store, "backfill resumed");
    return 0;
  };
}

CommandRun setup_abort(CLI::App& /*sub*/, const GlobalOptions& g) {
  return [&g]() -> int {
    ControlSession s(g, "abort");
    state::request_control(*s.store, "abort");
    print_control(
        g, *s.store,
        "abort requested: the running start stops after its current batch; 'colshift start FILE' "
        "resumes, 'colshift rollback' undoes");
    return 0;
  };
}

CommandRun setup_throttle(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    std::optional<double> max_rate;
    std::optional<std::string> max_replica_lag;
    std::optional<int> max_lock_waiters;
    std::optional<std::string> throttle_query;
    std::optional<double> throttle_max;
    std::optional<int> batch_size;
    bool reset = false;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--max-rate", o->max_rate, "rows per second ceiling, 0 or more (0 = none)");
  sub.add_option("--max-replica-lag", o->max_replica_lag,
                 "replica lag limit, e.g. 500ms (0 = do not check)");
  sub.add_option("--max-lock-waiters", o->max_lock_waiters,
                 "lock waiters limit, -1 or more (-1 = do not check)");
  sub.add_option("--throttle-query", o->throttle_query,
                 "SQL returning one number (with --throttle-max, or the running backfill's)");
  sub.add_option("--throttle-max", o->throttle_max,
                 "threshold for the throttle query (this one's or the running backfill's)");
  sub.add_option("--batch-size", o->batch_size, "fixed batch size, 0 or more (0 = adaptive)");
  sub.add_flag("--reset", o->reset, "drop every override; back to the command line's values");
  return [o, &g]() -> int {
    // Checked before connecting. One of --throttle-query and --throttle-max
    // alone is fine here: it changes that half of the running backfill's probe.
    if (o->max_rate) check_rate("--max-rate", *o->max_rate);
    if (o->max_lock_waiters)
      check_at_least("--max-lock-waiters", *o->max_lock_waiters, -1, " (-1 = do not check)");
    if (o->batch_size) check_at_least("--batch-size", *o->batch_size, 0, " (0 = adaptive)");
    if (o->throttle_max) check_finite("--throttle-max", *o->throttle_max);
    std::vector<std::string> sets;
    Params params;
    auto add = [&](const char* column, const std::optional<std::string>& v) {
      params.push_back(v);
      sets.push_back(fmt::format("{} = ${}", column, params.size()));
    };
    if (o->reset) {
      sets.push_back(
          "max_rate = NULL, max_replica_lag_ms = NULL, max_lock_waiters = NULL, "
          "throttle_query = NULL, throttle_max = NULL, batch_size = NULL");
    }
    if (o->max_rate) add("max_rate", fmt::format("{}", *o->max_rate));
    if (o->max_replica_lag) {
      add("max_replica_lag_ms",
          std::to_string(parse_duration(*o->max_replica_lag, "--max-replica-lag").count()));
    }
    if (o->max_lock_waiters) add("max_lock_waiters", std::to_string(*o->max_lock_waiters));
    if (o->throttle_query) add("throttle_query", *o->throttle_query);
    if (o->throttle_max) add("throttle_max", fmt::format("{}", *o->throttle_max));
    if (o->batch_size)
      add("batch_size", *o->batch_size > 0
                            ? std::optional<std::string>(std::to_string(*o->batch_size))
                            : std::nullopt);
    if (sets.empty()) {
      throw Error(ErrorKind::kUsage, "throttle needs at least one setting", {},
                  "e.g. colshift throttle --max-rate 5000, or --reset");
    }
    ControlSession s(g, "throttle");
    std::string assignments;
    for (size_t i = 0; i < sets.size(); ++i) assignments += (i ? ", " : "") + sets[i];
    s.store->update_control(assignments, params);
    s.store->event(0, "", "throttle", {{"set", assignments}});
    print_control(
        g, *s.store,
        "throttle settings updated; the running backfill applies them before its next batch");
    return 0;
  };
}

}  // namespace colshift::cli
