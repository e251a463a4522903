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
  }
  return "?";
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

nlohmann::json plan_to_json(const Plan& plan) {
  nlohmann::json steps = nlohmann::json::array();
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const auto& s = plan.steps[i];
    nlohmann::json j = {
        {"index", i},
        {"phase", phase_name(s.phase)},
        {"kind", kind_name(s.kind)},
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
    if (s.backfill) {
      const auto& b = *s.backfill;
      j["backfill"] = {{"schema", b.schema},
                       {"table", b.table},
                       {"column", b.column},
                       {"type", b.type},
                       {"expression", b.expression},
                       {"key_columns", b.key_columns},
                       {"key_types", b.key_types},
                       {"old_write_counter", b.old_write_counter},
                       {"old_write_last", b.old_write_last}};
    }
    steps.push_back(j);
  }
  return {{"migration", plan.migration},
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
  p.purpose = j.value("purpose", "");
  p.file = j.value("file", "");
  p.checksum = j.value("checksum", "");
  p.server_version = j.value("server_version", 0);
  p.offline = j.value("offline", false);
  p.notes = j.value("notes", std::vector<std::string>{});
  p.warnings = j.value("warnings", std::vector<std::string>{});
  const auto phases = {Phase::kExpand, Phase::kBackfill, Phase::kFinish, Phase::kComplete,
                       Phase::kRollback};
  const auto kinds = {StepKind::kTransactional, StepKind::kConcurrent, StepKind::kCreateIndex,
                      StepKind::kBackfill, StepKind::kQuietCheck};
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
    if (js.contains("backfill")) {
      const auto& b = js["backfill"];
      BackfillSpec spec;
      spec.schema = b.value("schema", "");
      spec.table = b.value("table", "");
      spec.column = b.value("column", "");
      spec.type = b.value("type", "");
      spec.expression = b.value("expression", "");
      spec.key_columns = b.value("key_columns", std::vector<std::string>{});
      spec.key_types = b.value("key_types", std::vector<std::string>{});
      spec.old_write_counter = b.value("old_write_counter", "");
      spec.old_write_last = b.value("old_write_last", "");
      s.backfill = spec;
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
  out += "\nrollback plan (newest first, from any phase before complete)\n";
  int r = 0;
  for (auto it = plan.steps.rbegin(); it != plan.steps.rend(); ++it) {
    if (it->phase == Phase::kComplete || it->undo.empty()) continue;
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
