#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "plan/plan.h"
#include "state/state.h"
#include "util/text.h"

namespace colshift::cli {

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
      if (g.json) {
        print_json({{"active", nullptr}, {"applied", hist.size()}});
      } else {
        std::cout << "no migration in progress";
        if (!hist.empty())
          std::cout << fmt::format("; last: {} ({})", hist.back().name, hist.back().phase);
        std::cout << "\n";
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
      backfills.push_back({{"table", b.table},
                           {"column", b.column},
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
      lines += fmt::format("  {}.{}: {}\n", b.table, b.column, progress_line(pr));
    }
    auto ctl = store.control();
    // Is a colshift process driving it right now? (It holds the migration lock.)
    bool running =
        conn->exec(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND ((classid::bigint << 32) | objid::bigint) = "
                "hashtextextended('colshift:migration:' || $1, 0))",
                {g.schema})
            .boolean(0, 0);
    if (g.json) {
      print_json({{"paused", ctl.paused},
                  {"running", running},
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
      std::cout << lines;
      if (running) {
        std::cout << "  a colshift process is working on it now\n";
      } else if (active->phase != "active") {
        std::cout << "  no colshift process is working on it: 'colshift start FILE' resumes it, "
                     "'colshift rollback' undoes it\n";
      }
      if (ctl.paused)
        std::cout << "  paused by " << ctl.updated_by << " ('colshift resume' goes on)\n";
      if (!active->error.empty()) {
        std::cout << "  last error: " << active->error
                  << "\n  next: 'colshift start FILE' again to resume, or 'colshift rollback'\n";
      }
    }
    return 0;
  };
}

}  // namespace colshift::cli
