#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>
#include <optional>
#include <thread>

#include "cli/common.h"
#include "dialect/dialect.h"
#include "migration/migration.h"
#include "plan/plan.h"
#include "serve/server.h"
#include "util/text.h"

namespace colshift::cli {
namespace {

// `start --serve PORT`: the status page (read-only, loopback) while start
// runs, stopped when it returns or throws.
class PageWhileRunning {
 public:
  PageWhileRunning(const GlobalOptions& g, std::optional<int> port,
                   const std::function<void(const std::string&)>& log) {
    if (!port) return;
    serve::ServeOptions s;
    s.schema = g.schema;
    s.port = *port;
    s.log = log;
    s.on_listening = [log](const std::string& url) { log("status page: " + url); };
    thread_ = std::thread([this, s, factory = connection_factory(g), log] {
      try {
        serve::serve(factory, s, &stop_);
      } catch (const std::exception& e) {
        log(std::string("status page not served: ") + e.what());
      }
    });
  }
  ~PageWhileRunning() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  PageWhileRunning(const PageWhileRunning&) = delete;
  PageWhileRunning& operator=(const PageWhileRunning&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

CommandRun setup_start(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    std::string file;
    ChangeOptions change;
    std::optional<int> serve_port;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("FILE", o->file, "migration file")->required();
  add_backfill_options(sub, o->change);
  sub.add_option("--serve", o->serve_port,
                 "serve the read-only status page on 127.0.0.1:PORT while start runs (0 = any "
                 "free port; the URL goes to stderr)");
  add_downstream_options(sub, o->change, true);
  add_guard_options(sub, o->change);
  add_watch_for_option(sub, o->change, "start reaches active (a rollback guard still rolls back)");
  return [o, &g]() -> int {
    auto options = run_options(g, o->change);  // flags first: nothing read or connected yet
    auto m = migration::load_migration_file(o->file);
    migration::add_flag_guards(m, o->change.guards);
    options.downstream.subscribers = subscriber_connections(m, o->change.subscribers);
    if (options.downstream.prepare && options.downstream.subscribers.empty()) {
      throw Error(ErrorKind::kUsage, "--prepare-subscribers needs a subscriber to prepare", {},
                  "name it with --subscriber URL, or with 'subscribers:' in the migration file");
    }
    auto hooks = make_hooks(g);
    if (o->serve_port) check_at_least("--serve", *o->serve_port, 0, " (0 = any free port)");
    run::Runner runner(postgres_dialect(), connection_factory(g), options, hooks);
    hooks.log(fmt::format("start {}: {}", m.name, m.purpose));
    auto outcome = run::StartOutcome::kStarted;
    {
      PageWhileRunning page(g, o->serve_port, hooks.log);
      outcome = runner.start(m);
      if (auto d = watch_for(o->change);
          d.count() &&
          (outcome == run::StartOutcome::kStarted || outcome == run::StartOutcome::kResumed ||
           outcome == run::StartOutcome::kAlreadyActive)) {
        auto w = runner.watch(d);
        if (w.rolled_back) {
          throw Error(
              ErrorKind::kChangeFailed,
              fmt::format("migration '{}' was rolled back while watched: {}", m.name, w.reason), {},
              "the table is as before; 'colshift status' and 'colshift history' show "
              "the guard's values");
        }
      }
    }
    auto rec = runner.state().find_applied(m.name);
    // What the steps that ran did to the app version that was running before.
    std::vector<std::string> breaks;
    if (rec) {
      breaks = plan::old_app_breaks(
          plan::plan_from_json(rec->plan),
          {plan::Phase::kExpand, plan::Phase::kBackfill, plan::Phase::kFinish});
    }
    if (g.json) {
      const char* names[] = {"started", "resumed", "already_active", "already_applied"};
      print_json({{"migration", m.name},
                  {"outcome", names[static_cast<int>(outcome)]},
                  {"phase", rec ? rec->phase : ""},
                  {"seconds", rec ? rec->duration_seconds : -1},
                  {"old_app_breaks", breaks}});
    } else if (outcome == run::StartOutcome::kStarted || outcome == run::StartOutcome::kResumed) {
      std::string apps = breaks.empty() ? "both app versions work"
                                        : fmt::format(
                                              "only the new app version works ({}); deploy it now "
                                              "if it is not out yet",
                                              join(breaks, "; "));
      std::cout << fmt::format(
          "{} is active ({}): {}. Next: 'colshift complete' "
          "once every app instance runs the new version, or 'colshift rollback'.\n",
          m.name, rec ? human_duration(rec->duration_seconds) : "", apps);
    }
    return 0;
  };
}

}  // namespace colshift::cli
