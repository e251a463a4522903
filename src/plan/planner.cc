#include "plan/planner.h"

#include <fmt/format.h>

#include "util/error.h"
#include "util/text.h"

namespace colshift::plan {

Plan build_plan(const migration::Migration& m, const CatalogFacts& facts, const Dialect& dialect,
                const std::string& state_schema) {
  Plan p;
  p.migration = m.name;
  p.purpose = m.purpose;
  p.file = m.file;
  p.checksum = m.checksum;
  p.server_version = facts.server_version;
  p.offline = facts.offline;

  std::vector<Step> all;
  for (size_t i = 0; i < m.operations.size(); ++i) {
    const auto& op = m.operations[i];
    const auto& pos = migration::operation_pos(op);
    const migration::TableName* table = nullptr;
    if (auto* a = std::get_if<migration::AddColumn>(&op)) table = &a->table;
    if (auto* c = std::get_if<migration::CreateIndex>(&op)) table = &c->table;
    if (table && facts.missing_tables.count(table->display())) {
      throw Error(ErrorKind::kBadInput, fmt::format("table {} does not exist", table->display()),
                  fmt::format("{}:{}:{}", pos.file, pos.line, pos.column),
                  fmt::format("check the name and the schema (searched: {}); qualify it as "
                              "schema.table if it lives elsewhere",
                              facts.default_schema));
    }
    if (auto* c = std::get_if<migration::CreateIndex>(&op)) {
      // An index on a column this migration adds must come after that column.
      (void)c;
    }
    PlanContext ctx;
    ctx.state_schema = state_schema;
    ctx.migration = m.name;
    ctx.operation = static_cast<int>(i);
    ctx.facts = &facts;
    ctx.operations = &m.operations;
    for (auto& s : dialect.plan_operation(op, ctx)) all.push_back(std::move(s));
  }
  for (Phase phase : {Phase::kExpand, Phase::kBackfill, Phase::kFinish, Phase::kComplete}) {
    for (auto& s : all) {
      if (s.phase == phase) p.steps.push_back(s);
    }
  }
  if (facts.offline) {
    p.notes.push_back(
        "planned without a database: table sizes unknown, PostgreSQL 15 assumed, expressions not "
        "checked; pass --db for a plan of the real schema");
  }
  bool complete_scans = false;
  for (const auto& s : p.steps) complete_scans |= s.phase == Phase::kComplete && s.scans;
  if (facts.server_version < 120000 && complete_scans) {
    p.warnings.push_back(
        "PostgreSQL < 12 cannot prove SET NOT NULL from a CHECK: complete will scan the table "
        "under "
        "an ACCESS EXCLUSIVE lock");
  }
  auto breaks = old_app_breaks(p, {Phase::kExpand, Phase::kBackfill, Phase::kFinish});
  if (!breaks.empty()) {
    p.notes.push_back(fmt::format(
        "the old app version stops working during start: {}. Before start, deploy an app "
        "version that no longer needs what is dropped or renamed where one can exist (always "
        "for a drop); for a rename, deploy the new version right after start, or keep the old "
        "name working through a view",
        join(breaks, "; ")));
  } else if (p.needs_backfill()) {
    p.notes.push_back(
        "old and new app versions both work until complete: a trigger fills new columns for "
        "writers that do not set them");
  }
  auto at_complete = old_app_breaks(p, {Phase::kComplete});
  if (!at_complete.empty()) {
    p.notes.push_back(fmt::format(
        "complete breaks the old app version: {}. Run 'colshift complete' only once every app "
        "instance runs the new version",
        join(at_complete, "; ")));
  }
  int refused = 0;
  for (const auto& s : p.steps)
    for (const auto& st : s.statements)
      for (const auto& h : st.hazards) refused += h.refused ? 1 : 0;
  if (refused > 0) {
    p.warnings.push_back(fmt::format(
        "'colshift start' will refuse this migration: {} hazard{} on live tables {} not allowed "
        "(see 'hazard:' above); follow the safe way shown, or allow each by name with "
        "allow_hazards in its raw_sql",
        refused, refused == 1 ? "" : "s", refused == 1 ? "is" : "are"));
  }
  return p;
}

}  // namespace colshift::plan
