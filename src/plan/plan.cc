#include "plan/plan.h"

#include <fmt/format.h>

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
  return {{"migration", plan.migration},
          {"version", plan.version},
          {"undeclared_writers", undeclared_name(plan.undeclared)},
          {"purpose", plan.purpose},
          {"file", plan.file},
          {"checksum", plan.checksum},
          {"server_version", plan.server_version},
          {"offline", plan.offline},
          {"steps", steps},
          {"notes", plan.notes},
          {"warnings", plan.warnings}};
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
  const auto phases = {Phase::kExpand, Phase::kBackfill, Phase::kFinish, Phase::kComplete,
                       Phase::kRollback};
  const auto kinds = {StepKind::kTransactional,  StepKind::kConcurrent, StepKind::kCreateIndex,
                      StepKind::kBackfill,       StepKind::kQuietCheck, StepKind::kFillMissing,
                      StepKind::kCheckConstraint};
  const auto locks = {LockMode::kNone,
                      LockMode::kAccessShare,
                      LockMode::kRowShare,
                      LockMode::kRowExclusive,
                      LockMode::kShareUpdateExclusive,
                      LockMode::kShare,
                      LockMode::kShareRowExclusive,
                      LockMode::kExclusive,
                      LockMode::kAccessExclusive};
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

static std::string estimate_text(const Step& s) {
  if (s.estimate_note == "instant") return "instant";
  std::string t = s.estimate_seconds < 0 ? "unknown" : "~" + human_duration(s.estimate_seconds);
  if (!s.estimate_note.empty()) t += " (" + s.estimate_note + ")";
  return t;
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
      if (s.lock != LockMode::kNone) {
        out += fmt::format(
            "     lock:     {} on {} ({}){}\n", lock_name(s.lock), s.lock_table,
            lock_blocks(s.lock),
            s.kind == StepKind::kTransactional ? "; waits at most lock_timeout, retried" : "");
      }
      out += fmt::format("     scans:    {}   rewrites: {}   time: {}\n", s.scans ? "yes" : "no",
                         s.rewrites ? "yes" : "no", estimate_text(s));
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
  for (const auto& note : plan.notes) out += "\nnote: " + note + "\n";
  for (const auto& w : plan.warnings) out += "\nwarning: " + w + "\n";
  return out;
}

}  // namespace colshift::plan
