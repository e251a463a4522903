#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "state/state.h"
#include "util/text.h"

namespace colshift::cli {

CommandRun setup_history(CLI::App& /*sub*/, const GlobalOptions& g) {
  return [&g]() -> int {
    auto conn = connect_db(g);
    state::StateStore store(*conn, g.schema);
    std::vector<state::MigrationRecord> rows;
    if (store.initialized()) rows = store.history();
    if (g.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : rows) {
        out.push_back({{"id", r.id},
                       {"name", r.name},
                       {"phase", r.phase},
                       {"purpose", r.purpose},
                       {"checksum", r.checksum},
                       {"started_at", r.started_at},
                       {"finished_at", r.finished_at},
                       {"completed_at", r.completed_at},
                       {"applied_by", r.applied_by},
                       {"duration_seconds", r.duration_seconds},
                       {"error", r.error}});
      }
      print_json(out);
      return 0;
    }
    if (rows.empty()) {
      std::cout << "no migrations recorded\n";
      return 0;
    }
    std::cout << fmt::format("{:<4} {:<32} {:<12} {:<25} {:<10} {}\n", "id", "name", "phase",
                             "started", "took", "by");
    for (const auto& r : rows) {
      std::cout << fmt::format("{:<4} {:<32} {:<12} {:<25} {:<10} {}\n", r.id, r.name, r.phase,
                               r.started_at, human_duration(r.duration_seconds), r.applied_by);
      if (!r.error.empty()) std::cout << "     error: " << r.error << "\n";
    }
    return 0;
  };
}

}  // namespace colshift::cli
