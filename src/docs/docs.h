// Markdown records of migrations for the schema repository: purpose, steps
// with their locks and estimates, the rollback plan, and (once applied) who
// applied it, when, and how long each phase took.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "state/state.h"

namespace colshift::docs {

// One migration's page. `run_log`: lines of what happened to every attempt
// (guard decisions, a rollback's reason), oldest first; none: no section.
std::string migration_page(const plan::Plan& plan,
                           const std::optional<state::MigrationRecord>& applied,
                           const std::vector<std::string>& run_log = {});

struct IndexEntry {
  std::string name;
  std::string purpose;
  std::string status;  // "pending", "active", "completed", ...
  std::string page;    // relative link
};
// The README.md listing every migration in order.
std::string index_page(const std::vector<IndexEntry>& entries);

}  // namespace colshift::docs
