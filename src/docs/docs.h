// Markdown records of migrations for the schema repository: purpose, steps
// with their locks and estimates, the rollback plan, and (once applied) who
// applied it, when, and how long each phase took.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dialect/table_shape.h"
#include "plan/plan.h"
#include "state/state.h"

namespace colshift::docs {

// What the database recorded of a migration beyond its plan.
struct PageRecord {
  // Seconds each step took, by step index (none: not recorded).
  std::map<int, double> step_seconds;
  // The shapes of the tables it touches before its expand and after its
  // complete or rollback (`after_live`: read now, the migration is active).
  SchemaSnapshot before;
  SchemaSnapshot after;
  bool after_live = false;
  // Tables with a page of their own (linked from this one).
  std::set<std::string> table_pages;
};

// One migration's page. `run_log`: lines of what happened to every attempt
// (phases, pauses, guard decisions, a rollback's reason, who ran each
// command), oldest first; none: no section.
std::string migration_page(const plan::Plan& plan,
                           const std::optional<state::MigrationRecord>& applied,
                           const std::vector<std::string>& run_log = {},
                           const PageRecord& record = {});

// A migration that touched a table, as its page lists them.
struct TouchedBy {
  std::string migration;
  std::string status;
  std::string page;  // relative to the table's page
};
// The page of one table: columns, indexes, constraints, triggers, comments,
// the foreign keys that point at it, and the migrations that touched it.
std::string table_page(const TableShape& table, const std::vector<TouchedBy>& touched);
// Where a table's page goes, relative to the docs directory:
// "tables/public.users.md" (characters unsafe in a file name spelled %XX).
std::string table_page_path(const std::string& table);

struct IndexEntry {
  std::string name;
  std::string purpose;
  std::string status;  // "pending", "active", "completed", ...
  std::string page;    // relative link
};
// The README.md listing every migration in order, then every table's page.
std::string index_page(const std::vector<IndexEntry>& entries,
                       const std::vector<std::string>& tables = {});

}  // namespace colshift::docs
