#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "plan/plan.h"
#include "run/runner.h"
#include "state/state.h"
#include "util/text.h"

namespace colshift::cli {
namespace {

std::string number_or_dash(const std::optional<double>& v) {
  return v ? fmt::format("{:g}", *v) : std::string("-");
}

nlohmann::json guards_json(const std::vector<state::GuardRecord>& guards) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : guards) {
    out.push_back({{"name", g.name},
                   {"source", g.source},
                   {"threshold", g.threshold},
                   {"policy", g.policy},
                   {"stage", g.stage},
                   {"baseline", g.baseline ? nlohmann::json(*g.baseline) : nlohmann::json()},
                   {"value", g.value ? nlohmann::json(*g.value) : nlohmann::json()},
                   {"health", g.health},
                   {"tripped", g.tripped},
                   {"breaches", g.breaches},
                   {"failed_reads", g.failed_reads},
                   {"reason", g.reason},
                   {"decision", g.decision},
                   {"decided_at", g.decided_at},
                   {"read_at", g.read_at}});
  }
  return out;
}

// One line per guard: value against threshold, health, the last decision.
std::string guard_lines(const std::vector<state::GuardRecord>& guards) {
  std::string out;
  if (guards.empty()) return out;
  out += "  guards:\n";
  for (const auto& g : guards) {
    out += fmt::format("    {} ({}): {} {} (baseline {}), {}{}", g.name, g.policy,
                       number_or_dash(g.value), g.threshold.empty() ? "" : "vs " + g.threshold,
                       number_or_dash(g.baseline), g.tripped ? "TRIPPED" : g.health,
                       g.reason.empty() ? "" : ": " + g.reason);
    if (!g.decision.empty())
      out += fmt::format("; last decision {} at {} ({})", g.decision, g.decided_at, g.stage);
    out += "\n";
  }
  return out;
}

}  // namespace

CommandRun setup_status(CLI::App& /*sub*/, const GlobalOptions& g) {
  return [&g]() -> int {
    auto conn = connect_db(g);
    state::StateStore store(*conn, g.schema);
    if (!store.initialized()) {
      if (g.json)
        print_json({{"active", nullptr}, {"initialized", false}});
      else
        std::cout << "colshift is not initialised in this database ('colshift init').\n";
      return 0;
    }
    auto active = store.active();
    if (!active) {
      auto hist = store.history();
      std::vector<state::GuardRecord> last_guards;
      if (!hist.empty()) last_guards = store.guards(hist.back().id);
      if (g.json) {
        nlohmann::json last = nullptr;
        if (!hist.empty()) {
          last = {{"name", hist.back().name},
                  {"phase", hist.back().phase},
                  {"error", hist.back().error},
                  {"guards", guards_json(last_guards)}};
        }
        print_json({{"active", nullptr}, {"applied", hist.size()}, {"last", last}});
      } else {
        std::cout << "no migration in progress";
        if (!hist.empty())
          std::cout << fmt::format("; last: {} ({})", hist.back().name, hist.back().phase);
        std::cout << "\n";
        if (!hist.empty() && !hist.back().error.empty())
          std::cout << "  last error: " << hist.back().error << "\n";
        std::cout << guard_lines(last_guards);
      }
      return 0;
    }
    auto p = plan::plan_from_json(active->plan);
    nlohmann::json backfills = nlohmann::json::array();
    std::string lines;
    for (size_t i : p.steps_in(plan::Phase::kBackfill)) {
      auto cp = store.checkpoint(active->id, static_cast<int>(i));
      if (!cp) continue;
      double rate =
          cp->elapsed_seconds > 0 ? static_cast<double>(cp->rows_done) / cp->elapsed_seconds : 0;
      long long total = std::max(cp->rows_total, cp->rows_done);
      double eta = cp->done ? 0 : rate > 0 ? static_cast<double>(total - cp->rows_done) / rate : -1;
      const auto& b = *p.steps[i].backfill;
      std::vector<std::string> columns;
      for (const auto& c : b.columns) columns.push_back(c.column);
      const std::string column = join(columns, ",");
      backfills.push_back({{"table", b.table},
                           {"column", column},
                           {"columns", columns},
                           {"rows_done", cp->rows_done},
                           {"rows_total", total},
                           {"rows_per_second", rate},
                           {"eta_seconds", eta},
                           {"batch_size", cp->batch_size},
                           {"done", cp->done},
                           {"throttle", cp->throttle},
                           {"seconds_since_last_batch", cp->idle_seconds}});
      backfill::Progress pr;
      pr.rows_done = cp->rows_done;
      pr.rows_total = total;
      pr.rows_per_second = rate;
      pr.eta_seconds = eta;
      pr.batch_size = cp->batch_size;
      pr.done = cp->done;
      pr.throttle_reason = cp->throttle;
      lines += fmt::format("  {}.{}: {}\n", b.table, column, progress_line(pr));
    }
    auto ctl = store.control();
    // Is a colshift process driving it right now? (It holds the migration lock.)
    const bool running = store.lock_held();
    const auto done = store.steps_done(active->id, "forward");
    bool contracted = false;
    for (size_t i = 0; i < p.steps.size(); ++i)
      contracted |= p.steps[i].contract && done.count(static_cast<int>(i)) > 0;
    const auto next = run::next_commands(active->phase, running, contracted, active->file);
    // The trigger's counters: old-version writes and failed 'up's.
    nlohmann::json writers = nlohmann::json::array();
    std::string writer_lines;
    if (!contracted) {
      for (const auto& s : p.steps) {
        if (!s.writers) continue;
        const auto& w = *s.writers;
        try {
          auto r = conn->exec(fmt::format(
              "SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {}), "
              "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {})",
              w.old_writes, w.trigger_failures.empty() ? w.old_writes : w.trigger_failures));
          long long old_writes = r.integer(0, 0);
          long long failures = w.trigger_failures.empty() ? 0 : r.integer(0, 1);
          writers.push_back({{"table", w.table},
                             {"column", w.column},
                             {"old_version_writes", old_writes},
                             {"trigger_failures", failures}});
          writer_lines += fmt::format("  {}.{}: {} old-version write{}{}\n", w.table, w.column,
                                      with_commas(old_writes), old_writes == 1 ? "" : "s",
                                      failures > 0 ? fmt::format(", {} with a failed 'up' (kept; "
                                                                 "complete fills or names them)",
                                                                 with_commas(failures))
                                                   : "");
        } catch (const DbError&) {
          // Counters not there (yet, or any more): nothing to show.
        }
      }
    }
    const std::string marker = plan::version_marker(p.version);
    auto guards = store.guards(active->id);
    if (g.json) {
      print_json({{"paused", ctl.paused},
                  {"running", running},
                  {"next", next},
                  {"new_version",
                   {{"version", p.version},
                    {"application_name", marker},
                    {"setting", fmt::format("colshift.version={}", p.version)},
                    {"undeclared_writers", plan::undeclared_name(p.undeclared)}}},
                  {"writers", writers},
                  {"guards", guards_json(guards)},
                  {"active",
                   {{"name", active->name},
                    {"phase", active->phase},
                    {"purpose", active->purpose},
                    {"started_at", active->started_at},
                    {"applied_by", active->applied_by},
                    {"steps_done", active->steps_done},
                    {"steps_total", active->steps_total},
                    {"error", active->error},
                    {"backfill", backfills}}}});
    } else {
      std::cout << fmt::format(
          "migration {}: {}\n  phase {} ({} of {} steps done), started {} by {}, {} ago\n",
          active->name, active->purpose, active->phase, active->steps_done, active->steps_total,
          active->started_at, active->applied_by, human_duration(active->duration_seconds));
      std::cout << lines << writer_lines << guard_lines(guards);
      if (p.has_dual_write() && !contracted) {
        std::cout << fmt::format(
            "  new app version: connect with application_name={} (in a URL: "
            "?application_name={}), or run SET colshift.version = '{}' in its sessions; "
            "sessions that declare no version are {}\n",
            marker, marker, p.version,
            p.undeclared == plan::UndeclaredWriters::kOld
                ? "the old version"
                : "guessed (a value they set is never overwritten)");
      }
      if (running) {
        std::cout << "  a colshift process is working on it now\n";
      } else if (active->phase != "active") {
        std::cout << "  no colshift process is working on it\n";
      }
      if (ctl.paused && running)
        std::cout << "  paused by " << ctl.updated_by << " ('colshift resume' goes on)\n";
      if (!active->error.empty()) std::cout << "  last error: " << active->error << "\n";
      if (!next.empty()) std::cout << "  next: " << join(next, ", or ") << "\n";
    }
    return 0;
  };
}

}  // namespace colshift::cli
