#include "plan/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "util/text.h"

namespace colshift::plan {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kExpand:
      return "expand";
    case Phase::kBackfill:
      return "backfill";
    case Phase::kFinish:
      return "finish";
    case Phase::kComplete:
      return "complete";
    case Phase::kRollback:
      return "rollback";
  }
  return "?";
}

const char* lock_name(LockMode m) {
  switch (m) {
    case LockMode::kNone:
      return "none";
    case LockMode::kAccessShare:
      return "ACCESS SHARE";
    case LockMode::kRowShare:
      return "ROW SHARE";
    case LockMode::kRowExclusive:
      return "ROW EXCLUSIVE";
    case LockMode::kShareUpdateExclusive:
      return "SHARE UPDATE EXCLUSIVE";
    case LockMode::kShare:
      return "SHARE";
    case LockMode::kShareRowExclusive:
      return "SHARE ROW EXCLUSIVE";
    case LockMode::kExclusive:
      return "EXCLUSIVE";
    case LockMode::kAccessExclusive:
      return "ACCESS EXCLUSIVE";
  }
  return "?";
}

const char* lock_blocks(LockMode m) {
  switch (m) {
    case LockMode::kNone:
      return "nothing";
    case LockMode::kAccessShare:
      return "only ACCESS EXCLUSIVE DDL";
    case LockMode::kRowShare:
      return "only EXCLUSIVE and ACCESS EXCLUSIVE DDL";
    case LockMode::kRowExclusive:
      return "reads and writes continue (writers of the same rows wait); DDL waits";
    case LockMode::kShareUpdateExclusive:
      return "reads and writes continue; DDL, VACUUM and ANALYZE wait";
    case LockMode::kShare:
      return "writes and DDL wait; reads continue";
    case LockMode::kShareRowExclusive:
      return "writes and DDL wait; reads continue";
    case LockMode::kExclusive:
      return "writes and DDL wait; plain reads continue";
    case LockMode::kAccessExclusive:
      return "reads, writes and DDL wait";
  }
  return "?";
}

static const char* kind_name(StepKind k) {
  switch (k) {
    case StepKind::kTransactional:
      return "transactional";
    case StepKind::kConcurrent:
      return "concurrent";
    case StepKind::kCreateIndex:
      return "create_index";
    case StepKind::kBackfill:
      return "backfill";
    case StepKind::kQuietCheck:
      return "quiet_check";
    case StepKind::kFillMissing:
      return "fill_missing";
    case StepKind::kCheckConstraint:
      return "check_constraint";
  }
  return "?";
}

const char* undeclared_name(UndeclaredWriters u) {
  return u == UndeclaredWriters::kOld ? "old" : "guess";
}

std::string version_marker(const std::string& version) { return "colshift:" + version; }

static nlohmann::json backfill_to_json(const BackfillSpec& b) {
  nlohmann::json cols = nlohmann::json::array();
  for (const auto& c : b.columns) {
    cols.push_back({{"column", c.column},
                    {"type", c.type},
                    {"expression", c.expression},
                    {"not_null", c.not_null},
                    {"check", c.check}});
  }
  return {{"schema", b.schema},
          {"table", b.table},
          {"columns", cols},
          {"key_columns", b.key_columns},
          {"key_types", b.key_types}};
}

static BackfillSpec backfill_from_json(const nlohmann::json& b) {
  BackfillSpec spec;
  spec.schema = b.value("schema", "");
  spec.table = b.value("table", "");
  if (b.contains("columns")) {
    for (const auto& c : b["columns"]) {
      spec.columns.push_back({c.value("column", ""), c.value("type", ""), c.value("expression", ""),
                              c.value("not_null", false), c.value("check", "")});
    }
  } else if (b.contains("column")) {  // plans stored before columns were a list
    spec.columns.push_back(
        {b.value("column", ""), b.value("type", ""), b.value("expression", ""), false, ""});
  }
  spec.key_columns = b.value("key_columns", std::vector<std::string>{});
  spec.key_types = b.value("key_types", std::vector<std::string>{});
  return spec;
}

template <typename E>
static E enum_from(const std::string& s, std::initializer_list<E> all, const char* (*name)(E)) {
  for (E e : all)
    if (s == name(e)) return e;
  return *all.begin();
}

std::vector<size_t> Plan::steps_in(Phase phase) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < steps.size(); ++i)
    if (steps[i].phase == phase) out.push_back(i);
  return out;
}

bool Plan::needs_backfill() const { return !steps_in(Phase::kBackfill).empty(); }

bool Plan::has_dual_write() const {
  for (const auto& s : steps)
    if (s.writers) return true;
  return false;
}

static const std::initializer_list<LockMode> kLocks = {LockMode::kNone,
                                                       LockMode::kAccessShare,
                                                       LockMode::kRowShare,
                                                       LockMode::kRowExclusive,
                                                       LockMode::kShareUpdateExclusive,
                                                       LockMode::kShare,
                                                       LockMode::kShareRowExclusive,
                                                       LockMode::kExclusive,
                                                       LockMode::kAccessExclusive};

static nlohmann::json statements_to_json(const std::vector<RawStatement>& statements) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& st : statements) {
    nlohmann::json relations = nlohmann::json::array();
    for (const auto& r : st.relations) {
      relations.push_back({{"relation", r.relation},
                           {"lock", lock_name(r.lock)},
                           {"blocks", lock_blocks(r.lock)},
                           {"rewrites", r.rewrites},
                           {"scans", r.scans},
                           {"live", r.live},
                           {"rows", r.rows},
                           {"note", r.note}});
    }
    nlohmann::json hazards = nlohmann::json::array();
    for (const auto& h : st.hazards) {
      hazards.push_back({{"hazard", migration::hazard_name(h.hazard)},
                         {"relation", h.relation},
                         {"rows", h.rows},
                         {"allowed", h.allowed},
                         {"refused", h.refused},
                         {"reason", h.reason},
                         {"instead", h.instead}});
    }
    out.push_back({{"summary", st.summary},
                   {"relations", relations},
                   {"hazards", hazards},
                   {"estimate_seconds", st.estimate_seconds}});
  }
  return out;
}

static std::vector<RawStatement> statements_from_json(const nlohmann::json& j) {
  std::vector<RawStatement> out;
  if (!j.is_array()) return out;
  for (const auto& js : j) {
    RawStatement st;
    st.summary = js.value("summary", "");
    st.estimate_seconds = js.value("estimate_seconds", 0.0);
    for (const auto& jr : js.value("relations", nlohmann::json::array())) {
      RelationEffect r;
      r.relation = jr.value("relation", "");
      r.lock = enum_from<LockMode>(jr.value("lock", ""), kLocks, lock_name);
      r.rewrites = jr.value("rewrites", false);
      r.scans = jr.value("scans", false);
      r.live = jr.value("live", true);
      r.rows = jr.value("rows", -1LL);
      r.note = jr.value("note", "");
      st.relations.push_back(std::move(r));
    }
    for (const auto& jh : js.value("hazards", nlohmann::json::array())) {
      auto hazard = migration::parse_hazard(jh.value("hazard", ""));
      if (!hazard) continue;
      StatementHazard h;
      h.hazard = *hazard;
      h.relation = jh.value("relation", "");
      h.rows = jh.value("rows", -1LL);
      h.allowed = jh.value("allowed", false);
      h.refused = jh.value("refused", false);
      h.reason = jh.value("reason", "");
      h.instead = jh.value("instead", "");
      st.hazards.push_back(std::move(h));
    }
    out.push_back(std::move(st));
  }
  return out;
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(IndexImpact, name, definition, bytes,
                                                covers_changed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SlotImpact, name, type, plugin, active, lag_bytes,
                                                client)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StatementImpact, calls, mean_ms, query)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TableImpact, table, changed_columns, rows,
                                                heap_bytes, index_bytes, fillfactor, indexes, views,
                                                functions, triggers, foreign_keys_out,
                                                foreign_keys_in, row_security, policies,
                                                publications, slots, statements_available,
                                                statements)

std::string render_guards_text(const std::vector<guard::GuardSpec>& guards,
                               const std::string& indent) {
  std::string out;
  for (const auto& g : guards) {
    out += fmt::format(
        "{}{}: {} when {}; every {}, trips after {} breach{} in a row or {} failed "
        "read{}\n",
        indent, g.name, guard::policy_name(g.policy), guard::threshold_text(g),
        human_duration(static_cast<double>(g.interval.count()) / 1000.0), g.breach_after,
        g.breach_after == 1 ? "" : "es", g.fail_after, g.fail_after == 1 ? "" : "s");
    out += fmt::format("{}  {}\n", indent, guard::source_text(g));
  }
  return out;
}

nlohmann::json plan_to_json(const Plan& plan) {
  nlohmann::json steps = nlohmann::json::array();
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const auto& s = plan.steps[i];
    nlohmann::json j = {
        {"index", i},
        {"phase", phase_name(s.phase)},
        {"kind", kind_name(s.kind)},
        {"rank", s.rank},
        {"contract", s.contract},
        {"constraint_name", s.constraint_name},
        {"violations_sql", s.violations_sql},
        {"operation", s.operation},
        {"summary", s.summary},
        {"sql", s.sql},
        {"done_check", s.done_check},
        {"lock_table", s.lock_table},
        {"lock", lock_name(s.lock)},
        {"blocks", lock_blocks(s.lock)},
        {"rewrites", s.rewrites},
        {"scans", s.scans},
        {"estimate_seconds", s.estimate_seconds},
        {"estimate_note", s.estimate_note},
        {"index_name", s.index_name},
        {"index_lookup", s.index_lookup},
        {"undo_kind", kind_name(s.undo_kind)},
        {"undo", s.undo},
        {"undo_lock", lock_name(s.undo_lock)},
        {"undo_summary", s.undo_summary},
        {"undo_only_if_done", s.undo_only_if_done},
    };
    j["statements"] = statements_to_json(s.statements);
    j["undo_statements"] = statements_to_json(s.undo_statements);
    j["where"] = s.where;
    if (s.backfill) j["backfill"] = backfill_to_json(*s.backfill);
    if (s.writers) {
      const auto& w = *s.writers;
      j["writers"] = {{"table", w.table},
                      {"column", w.column},
                      {"old_writes", w.old_writes},
                      {"old_write_last", w.old_write_last},
                      {"trigger_failures", w.trigger_failures}};
    }
    steps.push_back(j);
  }
  nlohmann::json out = {{"migration", plan.migration},
                        {"version", plan.version},
                        {"undeclared_writers", undeclared_name(plan.undeclared)},
                        {"purpose", plan.purpose},
                        {"file", plan.file},
                        {"checksum", plan.checksum},
                        {"server_version", plan.server_version},
                        {"offline", plan.offline},
                        {"steps", steps},
                        {"notes", plan.notes},
                        {"warnings", plan.warnings},
                        {"impact", plan.impact},
                        {"downstream", downstream_to_json(plan.downstream)}};
  if (!plan.guards.empty()) {
    auto& g = out["guards"] = nlohmann::json::array();
    for (const auto& spec : plan.guards) g.push_back(guard::to_json(spec));
  }
  return out;
}

Plan plan_from_json(const nlohmann::json& j) {
  Plan p;
  p.migration = j.value("migration", "");
  p.version = j.value("version", p.migration);
  p.undeclared = j.value("undeclared_writers", "") == "old" ? UndeclaredWriters::kOld
                                                            : UndeclaredWriters::kGuess;
  p.purpose = j.value("purpose", "");
  p.file = j.value("file", "");
  p.checksum = j.value("checksum", "");
  p.server_version = j.value("server_version", 0);
  p.offline = j.value("offline", false);
  p.notes = j.value("notes", std::vector<std::string>{});
  p.warnings = j.value("warnings", std::vector<std::string>{});
  p.impact = j.value("impact", std::vector<TableImpact>{});
  if (j.contains("guards"))
    for (const auto& g : j["guards"]) p.guards.push_back(guard::guard_from_json(g));
  if (j.contains("downstream")) p.downstream = downstream_from_json(j["downstream"]);
  const auto phases = {Phase::kExpand, Phase::kBackfill, Phase::kFinish, Phase::kComplete,
                       Phase::kRollback};
  const auto kinds = {StepKind::kTransactional,  StepKind::kConcurrent, StepKind::kCreateIndex,
                      StepKind::kBackfill,       StepKind::kQuietCheck, StepKind::kFillMissing,
                      StepKind::kCheckConstraint};
  const auto& locks = kLocks;
  for (const auto& js : j.at("steps")) {
    Step s;
    s.phase = enum_from<Phase>(js.value("phase", ""), phases, phase_name);
    s.kind = enum_from<StepKind>(js.value("kind", ""), kinds, kind_name);
    s.operation = js.value("operation", -1);
    s.rank = js.value("rank", 0);
    s.contract = js.value("contract", false);
    s.constraint_name = js.value("constraint_name", "");
    s.violations_sql = js.value("violations_sql", "");
    s.summary = js.value("summary", "");
    s.sql = js.value("sql", std::vector<std::string>{});
    s.done_check = js.value("done_check", "");
    s.lock_table = js.value("lock_table", "");
    s.lock = enum_from<LockMode>(js.value("lock", ""), locks, lock_name);
    s.rewrites = js.value("rewrites", false);
    s.scans = js.value("scans", false);
    s.estimate_seconds = js.value("estimate_seconds", 0.0);
    s.estimate_note = js.value("estimate_note", "");
    s.index_name = js.value("index_name", "");
    s.index_lookup = js.value("index_lookup", "");
    s.undo_kind = enum_from<StepKind>(js.value("undo_kind", ""), kinds, kind_name);
    s.undo = js.value("undo", std::vector<std::string>{});
    s.undo_lock = enum_from<LockMode>(js.value("undo_lock", ""), locks, lock_name);
    s.undo_summary = js.value("undo_summary", "");
    s.undo_only_if_done = js.value("undo_only_if_done", false);
    s.statements = statements_from_json(js.value("statements", nlohmann::json()));
    s.undo_statements = statements_from_json(js.value("undo_statements", nlohmann::json()));
    s.where = js.value("where", "");
    if (js.contains("backfill")) s.backfill = backfill_from_json(js["backfill"]);
    if (js.contains("writers")) {
      const auto& w = js["writers"];
      s.writers =
          WriterCounters{w.value("table", ""), w.value("column", ""), w.value("old_writes", ""),
                         w.value("old_write_last", ""), w.value("trigger_failures", "")};
    } else if (s.kind == StepKind::kQuietCheck && js.contains("backfill")) {
      // Plans stored before the counters had a place of their own.
      const auto& b = js["backfill"];
      s.writers =
          WriterCounters{b.value("table", ""), b.value("column", ""),
                         b.value("old_write_counter", ""), b.value("old_write_last", ""), ""};
    }
    p.steps.push_back(std::move(s));
  }
  return p;
}

std::string render_impact_text(const std::vector<TableImpact>& impact, const std::string& indent) {
  std::string out;
  auto line = [&](const std::string& label, const std::vector<std::string>& items) {
    out += fmt::format("{}  {:<18} {}\n", indent, label + ":",
                       items.empty() ? std::string("none") : join(items, "; "));
  };
  for (const auto& t : impact) {
    out += fmt::format("{}{}: {}, {} table, {} in {} index{} (fillfactor {})\n", indent, t.table,
                       rows_text(t.rows), human_bytes(t.heap_bytes), human_bytes(t.index_bytes),
                       t.indexes.size(), t.indexes.size() == 1 ? "" : "es", t.fillfactor);
    std::vector<std::string> idx;
    int covering = 0;
    for (const auto& i : t.indexes) {
      idx.push_back(fmt::format("{} ({}{})", i.name, human_bytes(i.bytes),
                                i.covers_changed ? ", covers a changed column" : ""));
      covering += i.covers_changed ? 1 : 0;
    }
    line("indexes", idx);
    if (!t.changed_columns.empty()) {
      const size_t n = t.indexes.size();
      std::string per_row;
      if (n == 0) {
        per_row = "no index to update";
      } else if (covering > 0) {
        per_row =
            fmt::format("not HOT ({} index{} cover{} {}): each row adds an entry to all {} index{}",
                        covering, covering == 1 ? "" : "es", covering == 1 ? "s" : "",
                        join(t.changed_columns, ", "), n, n == 1 ? "" : "es");
      } else if (t.fillfactor < 100) {
        per_row = fmt::format(
            "HOT likely (no index covers {}; fillfactor {} leaves room on each page): most rows "
            "add no index entry",
            join(t.changed_columns, ", "), t.fillfactor);
      } else {
        per_row = fmt::format(
            "HOT possible (no index covers {}) but pages at fillfactor 100 rarely have room: "
            "expect most rows to add an entry to each of {} index{}",
            join(t.changed_columns, ", "), n, n == 1 ? "" : "es");
      }
      line("per written row", {per_row});
    }
    line("views", t.views);
    line("functions", t.functions);
    line("triggers", t.triggers);
    std::vector<std::string> fks;
    for (const auto& f : t.foreign_keys_out) fks.push_back("out " + f);
    for (const auto& f : t.foreign_keys_in) fks.push_back("in " + f);
    line("foreign keys", fks);
    std::vector<std::string> rls = t.policies;
    if (t.row_security) rls.insert(rls.begin(), "row security enabled");
    line("row security", rls);
    line("publications", t.publications);
    std::vector<std::string> slots;
    for (const auto& s : t.slots) {
      slots.push_back(fmt::format(
          "{} ({}{}, {}, {})", s.name, s.type, s.plugin.empty() ? "" : " " + s.plugin,
          s.active ? "active" : "inactive",
          s.lag_bytes < 0 ? std::string("lag unknown") : human_bytes(s.lag_bytes) + " behind"));
    }
    line("replication slots", slots);
    if (!t.statements_available) {
      line("statements", {"pg_stat_statements is not installed here"});
    } else {
      std::vector<std::string> st;
      for (const auto& s : t.statements) {
        std::string q = s.query.size() > 100 ? s.query.substr(0, 97) + "..." : s.query;
        for (char& c : q)
          if (c == '\n' || c == '\t') c = ' ';
        st.push_back(fmt::format("{} calls, {:.2f} ms: {}", with_commas(s.calls), s.mean_ms, q));
      }
      line("statements", st);
    }
  }
  return out;
}

static std::string estimate_text(const Step& s) {
  if (s.estimate_note == "instant") return "instant";
  std::string t = s.estimate_seconds < 0 ? "unknown" : "~" + human_duration(s.estimate_seconds);
  if (!s.estimate_note.empty()) t += " (" + s.estimate_note + ")";
  return t;
}

std::string rows_text(long long rows) {
  if (rows < 0) return "size unknown";
  if (rows == 0) return "empty";
  return fmt::format("~{} row{}", with_commas(rows), rows == 1 ? "" : "s");
}

std::string relation_effect_text(const RelationEffect& r) {
  std::string what;
  if (!r.live) {
    what = lock_name(r.lock);
  } else if (r.rewrites) {
    what = fmt::format("rewrites the table under {}", lock_name(r.lock));
  } else if (r.scans) {
    what = fmt::format("scans the table under {}", lock_name(r.lock));
  } else {
    what = lock_name(r.lock);
  }
  return fmt::format("{}: {}{}", r.relation, what, r.note.empty() ? "" : " (" + r.note + ")");
}

std::string hazard_verdict(const StatementHazard& h) {
  if (h.allowed) return "allowed by allow_hazards";
  if (h.refused) return "not allowed: 'colshift start' refuses it";
  return "not refused: the table is empty";
}

std::vector<RelationEffect> table_locks(const std::vector<RawStatement>& statements) {
  std::vector<RelationEffect> out;
  for (const auto& st : statements) {
    for (const auto& r : st.relations) {
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const RelationEffect& o) { return o.relation == r.relation; });
      if (it == out.end()) {
        out.push_back(r);
        continue;
      }
      it->lock = std::max(it->lock, r.lock);
      it->rewrites = it->rewrites || r.rewrites;
      it->scans = it->scans || r.scans;
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const RelationEffect& a, const RelationEffect& b) {
    return a.lock > b.lock;
  });
  return out;
}

std::vector<std::string> affected_relations(const Plan& plan) {
  std::set<std::string> names;
  for (const auto& s : plan.steps) {
    if (!s.lock_table.empty()) names.insert(s.lock_table);
    if (s.backfill) names.insert(s.backfill->schema + "." + s.backfill->table);
    for (const auto* list : {&s.statements, &s.undo_statements})
      for (const auto& st : *list)
        for (const auto& r : st.relations) names.insert(r.relation);
  }
  return {names.begin(), names.end()};
}

// Each raw statement with what it does to each relation, then its hazards.
static std::string render_statements(const std::vector<RawStatement>& statements) {
  std::string out;
  const std::string indent(15, ' ');
  for (size_t k = 0; k < statements.size(); ++k) {
    const auto& st = statements[k];
    out += fmt::format("     {:<10}{}\n", fmt::format("sql {}:", k + 1), st.summary);
    for (const auto& r : st.relations) out += indent + relation_effect_text(r) + "\n";
  }
  for (size_t k = 0; k < statements.size(); ++k) {
    for (const auto& h : statements[k].hazards) {
      out += fmt::format("     hazard:   {} (sql {}): {}\n", migration::hazard_name(h.hazard),
                         k + 1, h.reason);
      out += indent + hazard_verdict(h);
      if (!h.allowed) {
        out += fmt::format("; instead: {}; or add allow_hazards: [{}]", h.instead,
                           migration::hazard_name(h.hazard));
      }
      out += "\n";
    }
  }
  return out;
}

std::string render_plan_text(const Plan& plan) {
  std::string out;
  out += fmt::format("migration {}\n", plan.migration);
  out += fmt::format("purpose:  {}\n", plan.purpose);
  if (!plan.file.empty()) out += fmt::format("file:     {}\n", plan.file);
  out += fmt::format("server:   PostgreSQL {}{}\n", plan.server_version / 10000,
                     plan.offline ? " (assumed; planned offline)" : "");
  int n = 0;
  double total = 0;
  bool unknown = false;
  for (Phase phase : {Phase::kExpand, Phase::kBackfill, Phase::kFinish, Phase::kComplete}) {
    auto idx = plan.steps_in(phase);
    if (idx.empty()) continue;
    out += fmt::format("\n{}{}\n", phase_name(phase),
                       phase == Phase::kComplete ? " (run by 'colshift complete')" : "");
    for (size_t i : idx) {
      const auto& s = plan.steps[i];
      ++n;
      out += fmt::format("  {}. {}\n", n, s.summary);
      // raw SQL steps run under lock_timeout in or outside a transaction.
      const char* retried = s.kind == StepKind::kTransactional || s.kind == StepKind::kConcurrent
                                ? "; waits at most lock_timeout, retried"
                                : "";
      if (!s.statements.empty()) {
        for (const auto& t : table_locks(s.statements)) {
          if (!t.live) continue;
          out += fmt::format("     lock:     {} on {} ({}){}\n", lock_name(t.lock), t.relation,
                             lock_blocks(t.lock), retried);
        }
      } else if (s.lock != LockMode::kNone) {
        out += fmt::format("     lock:     {} on {} ({}){}\n", lock_name(s.lock), s.lock_table,
                           lock_blocks(s.lock), s.kind == StepKind::kTransactional ? retried : "");
      }
      out += fmt::format("     scans:    {}   rewrites: {}   time: {}\n", s.scans ? "yes" : "no",
                         s.rewrites ? "yes" : "no", estimate_text(s));
      out += render_statements(s.statements);
      if (s.estimate_seconds < 0)
        unknown = true;
      else
        total += s.estimate_seconds;
    }
  }
  out += fmt::format("\nestimated total: {}{}\n", human_duration(total),
                     unknown ? " plus steps of unknown size" : "");
  out += "\nrollback plan (newest first, from any phase before the contract)\n";
  int r = 0;
  for (auto it = plan.steps.rbegin(); it != plan.steps.rend(); ++it) {
    if (it->contract || it->undo.empty()) continue;
    ++r;
    out += fmt::format("  {}. {}", r, it->undo_summary);
    if (it->undo_lock != LockMode::kNone) out += fmt::format(" [{}]", lock_name(it->undo_lock));
    if (it->undo_only_if_done) out += " (only if its step ran)";
    out += "\n";
  }
  if (r == 0) out += "  nothing to undo\n";
  if (!plan.impact.empty()) {
    out += "\nimpact (who feels the change; read from the catalog)\n";
    out += render_impact_text(plan.impact, "  ");
  }
  if (!plan.downstream.empty()) {
    out += "\ndownstream (logical replication; PostgreSQL does not replicate DDL)\n";
    out += render_downstream_text(plan.downstream, "  ");
  }
  if (!plan.guards.empty()) {
    out += "\nguards (read from before expand until complete; built-in warn guards are added)\n";
    out += render_guards_text(plan.guards, "  ");
  }
  for (const auto& note : plan.notes) out += "\nnote: " + note + "\n";
  for (const auto& w : plan.warnings) out += "\nwarning: " + w + "\n";
  return out;
}

}  // namespace colshift::plan
