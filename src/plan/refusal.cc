// What start refuses, and what the old app version loses: both read from the
// hazards the dialect recorded on raw_sql steps (plan.h).
#include <fmt/format.h>

#include <algorithm>

#include "plan/plan.h"
#include "util/error.h"

namespace colshift::plan {

void refuse_hazards(const Plan& plan) {
  const Step* first_step = nullptr;
  const StatementHazard* first = nullptr;
  size_t statement = 0;
  int refused = 0;
  for (const auto& s : plan.steps) {
    for (size_t k = 0; k < s.statements.size(); ++k) {
      for (const auto& h : s.statements[k].hazards) {
        if (!h.refused) continue;
        if (!first) {
          first_step = &s;
          first = &h;
          statement = k;
        }
        ++refused;
      }
    }
  }
  if (!first) return;
  const char* name = migration::hazard_name(first->hazard);
  std::string more =
      refused > 1 ? fmt::format(" ({} more refused; 'colshift plan' lists them)", refused - 1)
                  : std::string();
  throw Error(ErrorKind::kBadInput,
              fmt::format("refusing raw_sql statement {} ({}): it {}; hazard {} is not in "
                          "allow_hazards, so nothing was changed{}",
                          statement + 1, first_step->statements[statement].summary, first->reason,
                          name, more),
              first_step->where,
              fmt::format("{}; or, to run it anyway, add 'allow_hazards: [{}]' to this raw_sql",
                          first->instead, name));
}

std::vector<std::string> old_app_breaks(const Plan& plan, const std::vector<Phase>& phases) {
  std::vector<std::string> out;
  int n = 0;
  for (Phase phase : {Phase::kExpand, Phase::kBackfill, Phase::kFinish, Phase::kComplete}) {
    const bool wanted = std::find(phases.begin(), phases.end(), phase) != phases.end();
    for (size_t i : plan.steps_in(phase)) {
      ++n;
      if (!wanted) continue;
      for (const auto& st : plan.steps[i].statements) {
        for (const auto& h : st.hazards) {
          if (h.hazard == migration::Hazard::kBreaksOldApp)
            out.push_back(fmt::format("step {} {}", n, h.reason));
        }
      }
    }
  }
  return out;
}

}  // namespace colshift::plan
