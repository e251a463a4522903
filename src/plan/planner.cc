#include "plan/planner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "util/error.h"
#include "util/text.h"

namespace colshift::plan {

Plan build_plan(const migration::Migration& m, const CatalogFacts& facts, const Dialect& dialect,
                const std::string& state_schema) {
  Plan p;
  p.migration = m.name;
  p.version = m.name;
  p.undeclared = m.undeclared_writers_old ? UndeclaredWriters::kOld : UndeclaredWriters::kGuess;
  p.purpose = m.purpose;
  p.file = m.file;
  p.checksum = m.checksum;
  p.server_version = facts.server_version;
  p.offline = facts.offline;
  p.guards = m.guards;

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
    PlanContext ctx;
    ctx.state_schema = state_schema;
    ctx.migration = m.name;
    ctx.undeclared = p.undeclared;
    ctx.operation = static_cast<int>(i);
    ctx.facts = &facts;
    ctx.operations = &m.operations;
    for (auto& s : dialect.plan_operation(op, ctx)) {
      // The author's complete-phase SQL runs after every check (a refusal
      // must leave nothing done) and with the contracts.
      if (std::holds_alternative<migration::RawSql>(op) && s.phase == Phase::kComplete)
        s.rank = kCompleteRankContract;
      all.push_back(std::move(s));
    }
  }
  // One backfill pass per table fills every column this migration adds there.
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].kind != StepKind::kBackfill || !all[i].backfill) continue;
    for (size_t j = i + 1; j < all.size();) {
      auto& later = all[j];
      if (later.kind == StepKind::kBackfill && later.backfill &&
          later.backfill->schema == all[i].backfill->schema &&
          later.backfill->table == all[i].backfill->table) {
        auto& into = *all[i].backfill;
        std::vector<std::string> parts;
        for (const auto& c : later.backfill->columns) into.columns.push_back(c);
        for (const auto& c : into.columns)
          parts.push_back(fmt::format("{}.{} = {}", into.table, c.column, c.expression));
        all[i].summary = fmt::format(
            "backfill {} for existing rows, in one pass of primary-key "
            "batches",
            fmt::join(parts, ", "));
        all.erase(all.begin() + static_cast<std::ptrdiff_t>(j));
      } else {
        ++j;
      }
    }
  }
  // Phase order, then rank within the phase (every check before any contract),
  // then file order.
  std::stable_sort(all.begin(), all.end(), [](const Step& a, const Step& b) {
    if (a.phase != b.phase) return static_cast<int>(a.phase) < static_cast<int>(b.phase);
    return a.rank < b.rank;
  });
  p.steps = std::move(all);
  if (facts.offline) {
    p.notes.push_back(
        "planned without a database: table sizes unknown, PostgreSQL 15 assumed, expressions not "
        "checked; pass --db for a plan of the real schema");
  }
  p.notes.insert(p.notes.end(), facts.notes.begin(), facts.notes.end());
  p.impact = facts.impact;
  plan_downstream(m, facts, dialect, p);
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
  }
  if (p.has_dual_write()) {
    p.notes.push_back(fmt::format(
        "{}The new version declares itself with application_name={} (or SET colshift.version "
        "= '{}'); its writes are never changed. {}",
        breaks.empty() ? "old and new app versions both work until complete. " : "",
        version_marker(p.version), p.version,
        p.undeclared == UndeclaredWriters::kOld
            ? "A session that declares no version is the old app (undeclared_writers: old): "
              "its writes derive the new columns from 'up'."
            : "A session that declares no version is guessed: a value such a session set is "
              "never overwritten, a row without a value is derived from 'up', and a value "
              "colshift derived follows 'up' when the session changes what 'up' reads "
              "(undeclared_writers: old makes every undeclared session the old version)."));
    if (version_marker(p.version).size() > 63) {
      p.warnings.push_back(fmt::format(
          "application_name holds 63 bytes and {} is longer: declare the version with SET "
          "colshift.version (or options=-c colshift.version=...), or shorten the migration's name",
          version_marker(p.version)));
    }
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
