#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "plan/plan.h"
#include "state/state.h"
#include "util/text.h"

namespace colshift::cli {
namespace {

// What the stored plan says of the subscribers start confirmed: "users_sub
// ready; --subscribers-ready by ..."; empty when nothing was downstream.
std::string downstream_summary(const nlohmann::json& plan) {
  if (!plan.is_object() || !plan.contains("downstream")) return "";
  auto d = plan::downstream_from_json(plan["downstream"]);
  if (d.subscribers.empty()) return "";
  std::vector<std::string> parts;
  for (const auto& s : d.subscribers) {
    std::string name = !s.subscription.empty() ? s.subscription
                       : !s.slot.empty()       ? s.slot
                                               : s.connection;
    parts.push_back(name + " " + plan::subscriber_state_name(s.state));
  }
  std::string out = "subscribers " + join(parts, ", ");
  if (d.acknowledged) out += "; --subscribers-ready by " + d.acknowledged_by;
  if (!d.prepared.empty()) out += "; prepared first on " + join(d.prepared, ", ");
  return out;
}

// "12:01:02 rollback by guard app_errors (12 > max 5 (2 in a row); backfill)".
std::string decision_line(const std::string& at, const nlohmann::json& d) {
  return fmt::format("{} {} by guard {} ({}; {})", at, d.value("decision", ""),
                     d.value("guard", ""), d.value("reason", ""), d.value("stage", ""));
}

}  // namespace

CommandRun setup_history(CLI::App& /*sub*/, const GlobalOptions& g) {
  return [&g]() -> int {
    auto conn = connect_db(g);
    state::StateStore store(*conn, g.schema);
    std::vector<state::MigrationRecord> rows;
    if (store.initialized()) rows = store.history();
    if (g.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : rows) {
        nlohmann::json decisions = nlohmann::json::array();
        for (auto& [at, d] : store.guard_decisions(r.id)) {
          d["at"] = at;
          decisions.push_back(d);
        }
        out.push_back({{"id", r.id},
                       {"guard_decisions", decisions},
                       {"name", r.name},
                       {"phase", r.phase},
                       {"purpose", r.purpose},
                       {"checksum", r.checksum},
                       {"started_at", r.started_at},
                       {"finished_at", r.finished_at},
                       {"completed_at", r.completed_at},
                       {"applied_by", r.applied_by},
                       {"duration_seconds", r.duration_seconds},
                       {"error", r.error},
                       {"downstream", downstream_summary(r.plan)}});
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
      if (auto d = downstream_summary(r.plan); !d.empty())
        std::cout << "     downstream: " << d << "\n";
      for (const auto& [at, d] : store.guard_decisions(r.id))
        std::cout << "     guard: " << decision_line(at, d) << "\n";
    }
    return 0;
  };
}

}  // namespace colshift::cli
