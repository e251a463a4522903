#include "docs/docs.h"

#include <fmt/format.h>

#include "util/text.h"

namespace colshift::docs {
namespace {

std::string cell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string estimate(const plan::Step& s) {
  if (s.estimate_note == "instant") return "instant";
  if (s.estimate_seconds < 0) return "unknown";
  return "~" + human_duration(s.estimate_seconds);
}

// What each raw SQL statement does to each table, and its hazards.
std::string raw_sql_section(const plan::Plan& p) {
  std::string out;
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const auto& s = p.steps[i];
    if (s.statements.empty()) continue;
    if (out.empty()) out = "\n## Raw SQL\n";
    out += fmt::format("\nStep {} ({}):\n\n", i + 1, cell(s.summary));
    for (size_t k = 0; k < s.statements.size(); ++k) {
      const auto& st = s.statements[k];
      out += fmt::format("{}. `{}`\n", k + 1, st.summary);
      for (const auto& r : st.relations) out += "   - " + plan::relation_effect_text(r) + "\n";
      for (const auto& h : st.hazards) {
        out += fmt::format("   - hazard **{}**: {}; {}\n", migration::hazard_name(h.hazard),
                           h.reason, plan::hazard_verdict(h));
      }
    }
  }
  return out;
}

}  // namespace

std::string migration_page(const plan::Plan& p,
                           const std::optional<state::MigrationRecord>& applied,
                           const std::vector<std::string>& run_log) {
  std::string out = fmt::format("# {}\n\n", p.migration);
  out += fmt::format("**Purpose.** {}\n\n", p.purpose);
  if (!p.file.empty())
    out += fmt::format("File: `{}` (sha256 `{}`)\n\n", p.file, p.checksum.substr(0, 16));
  if (applied) {
    out += "## Record\n\n";
    out += "| | |\n|---|---|\n";
    out += fmt::format("| status | {} |\n", applied->phase);
    out += fmt::format("| applied by | {} |\n", cell(applied->applied_by));
    out += fmt::format("| started | {} |\n", applied->started_at);
    if (!applied->finished_at.empty())
      out += fmt::format("| active (expand + backfill done) | {} |\n", applied->finished_at);
    if (!applied->completed_at.empty())
      out += fmt::format("| finished | {} |\n", applied->completed_at);
    out += fmt::format("| duration | {} |\n", human_duration(applied->duration_seconds));
    if (!applied->error.empty()) out += fmt::format("| last error | {} |\n", cell(applied->error));
    out += "\n";
  } else {
    out += "Status: **pending** (not applied to the documented database).\n\n";
  }
  out += "## Steps\n\n";
  out += "| # | phase | step | lock | blocks | scans | rewrites | estimate |\n";
  out += "|---|---|---|---|---|---|---|---|\n";
  int n = 0;
  for (const auto& s : p.steps) {
    ++n;
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", n, plan::phase_name(s.phase),
                       cell(s.summary),
                       s.lock == plan::LockMode::kNone ? "—" : plan::lock_name(s.lock),
                       s.lock == plan::LockMode::kNone ? "—" : plan::lock_blocks(s.lock),
                       s.scans ? "yes" : "no", s.rewrites ? "yes" : "no", estimate(s));
  }
  out +=
      "\nEvery transactional step runs under `SET LOCAL lock_timeout` and is retried with "
      "backoff, so application queries wait at most the lock timeout behind it.\n";
  out += raw_sql_section(p);
  out += "\n## SQL\n\n";
  n = 0;
  for (const auto& s : p.steps) {
    ++n;
    if (s.sql.empty()) continue;
    out += fmt::format("{}. {}\n\n```sql\n", n, s.summary);
    for (const auto& q : s.sql) out += q + ";\n";
    out += "```\n\n";
  }
  if (!p.impact.empty()) {
    out += "## Impact\n\nWho feels the change, read from the catalog when it was planned:\n\n```\n";
    out += plan::render_impact_text(p.impact, "");
    out += "```\n\n";
  }
  if (!p.downstream.empty()) {
    out +=
        "## Downstream\n\nLogical replication subscribers (PostgreSQL does not replicate DDL), "
        "as they were when it was planned:\n\n```\n";
    out += plan::render_downstream_text(p.downstream, "");
    out += "```\n\n";
  }
  if (!p.guards.empty()) {
    out += "## Guards\n\n";
    out +=
        "Read from before expand until the migration is completed or rolled back (and for "
        "`--watch-for` after); a guard that cannot be read counts as failing after its tries. "
        "The built-in warn guards (rollback_ratio, deadlocks, trigger_failures) are added to "
        "these unless the file names them.\n\n";
    out += "| guard | source | trips when | policy | every | trips after |\n";
    out += "|---|---|---|---|---|---|\n";
    for (const auto& g : p.guards) {
      out += fmt::format("| {} | `{}` | {} | {} | {} | {} breaches or {} failed reads |\n",
                         cell(g.name), cell(guard::source_text(g)), cell(guard::threshold_text(g)),
                         guard::policy_name(g.policy),
                         human_duration(static_cast<double>(g.interval.count()) / 1000.0),
                         g.breach_after, g.fail_after);
    }
    out += "\n";
  }
  if (!run_log.empty()) {
    out += "## Run log\n\n";
    for (const auto& line : run_log) out += "- " + line + "\n";
    out += "\n";
  }
  out += "## Rollback plan\n\n";
  out +=
      "`colshift rollback` undoes the migration from any phase before `complete`, newest step "
      "first:\n\n";
  int r = 0;
  for (auto it = p.steps.rbegin(); it != p.steps.rend(); ++it) {
    if (it->phase == plan::Phase::kComplete || it->undo.empty()) continue;
    ++r;
    out += fmt::format("{}. {}{}\n", r, it->undo_summary,
                       it->undo_lock == plan::LockMode::kNone
                           ? ""
                           : fmt::format(" ({})", plan::lock_name(it->undo_lock)));
  }
  if (r == 0) out += "Nothing to undo.\n";
  out += "\nAfter `complete` the change is final; undo it with a new migration.\n";
  for (const auto& note : p.notes) out += "\n> note: " + note + "\n";
  for (const auto& w : p.warnings) out += "\n> warning: " + w + "\n";
  return out;
}

std::string index_page(const std::vector<IndexEntry>& entries) {
  std::string out =
      "# Schema migrations\n\nGenerated by `colshift docs`; one page per migration.\n\n";
  out += "| migration | status | purpose |\n|---|---|---|\n";
  for (const auto& e : entries) {
    out += fmt::format("| [{}]({}) | {} | {} |\n", e.name, e.page, e.status, cell(e.purpose));
  }
  return out;
}

}  // namespace colshift::docs
