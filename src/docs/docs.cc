#include "docs/docs.h"

#include <fmt/format.h>

#include <cctype>

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

std::string table_link(const std::string& table, const std::set<std::string>& pages,
                       const std::string& prefix) {
  if (!pages.count(table)) return "`" + table + "`";
  return fmt::format("[`{}`]({}{})", table, prefix, table_page_path(table));
}

std::string shape_block(const TableShape* t) {
  if (!t) return "(no such table)\n";
  std::string out = "```\n";
  for (const auto& l : shape_lines(*t)) out += l.text + "\n";
  return out + "```\n";
}

// Each table the migration touches: its shape before and after, and the diff.
std::string tables_section(const std::optional<state::MigrationRecord>& applied,
                           const PageRecord& rec) {
  std::set<std::string> names;
  for (const auto& t : rec.before.tables) names.insert(t.name);
  for (const auto& t : rec.after.tables) names.insert(t.name);
  if (names.empty()) return {};
  std::string out = "## Tables\n\n";
  if (!applied || !rec.before.recorded) {
    // Pending (or applied before colshift recorded shapes): which tables, now.
    out += applied ? "The shapes before this migration were not recorded (it was applied by an "
                     "older colshift). Tables it touches:\n\n"
                   : "Tables it touches (as they are now):\n\n";
    for (const auto& n : names) out += "- " + table_link(n, rec.table_pages, "") + "\n";
    return out + "\n";
  }
  const char* after_label = rec.after_live                         ? "now (the migration is active)"
                            : applied->phase == state::kRolledBack ? "after the rollback"
                                                                   : "after complete";
  if (!rec.after.recorded) after_label = nullptr;
  out += fmt::format("Recorded just before expand{}.\n\n",
                     after_label ? fmt::format(" and {}", after_label) : std::string());
  for (const auto& n : names) {
    const TableShape* b = find_table(rec.before, n);
    const TableShape* a = after_label ? find_table(rec.after, n) : nullptr;
    out += "### " + table_link(n, rec.table_pages, "") + "\n\n";
    if (after_label) {
      auto diff = shape_diff(b, a);
      if (diff.empty()) {
        out += fmt::format("No change ({}).\n\n", after_label);
      } else {
        out += fmt::format("Change ({}):\n\n```diff\n", after_label);
        for (const auto& l : diff) out += l + "\n";
        out += "```\n\n";
      }
    }
    out += "<details><summary>before</summary>\n\n" + shape_block(b) + "\n</details>\n\n";
    if (after_label) {
      out += fmt::format("<details><summary>{}</summary>\n\n", after_label) + shape_block(a) +
             "\n</details>\n\n";
    }
  }
  return out;
}

}  // namespace

std::string table_page_path(const std::string& table) {
  std::string out = "tables/";
  for (unsigned char c : table) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out + ".md";
}

std::string table_page(const TableShape& t, const std::vector<TouchedBy>& touched) {
  std::string out = fmt::format("# {}\n\n", t.name);
  if (t.kind != "table") out += fmt::format("A {}.\n\n", t.kind);
  if (!t.comment.empty()) out += cell(t.comment) + "\n\n";
  out += "## Columns\n\n| # | column | type | not null | default | comment |\n";
  out += "|---|---|---|---|---|---|\n";
  int n = 0;
  for (const auto& c : t.columns) {
    std::string def = c.generated.empty() ? c.default_expr : "GENERATED " + c.generated;
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", ++n, cell(c.name), cell(c.type),
                       c.not_null ? "yes" : "", def.empty() ? "" : "`" + cell(def) + "`",
                       cell(c.comment));
  }
  if (!t.constraints.empty()) {
    out += "\n## Constraints\n\n| constraint | kind | definition | validated |\n";
    out += "|---|---|---|---|\n";
    for (const auto& c : t.constraints) {
      out += fmt::format("| {} | {} | `{}` | {} |\n", cell(c.name), c.kind, cell(c.definition),
                         c.validated ? "yes" : "**no** (NOT VALID)");
    }
  }
  if (!t.indexes.empty()) {
    out += "\n## Indexes\n\n| index | definition | valid |\n|---|---|---|\n";
    for (const auto& i : t.indexes) {
      out += fmt::format("| {} | `{}` | {} |\n", cell(i.name), cell(i.definition),
                         i.valid ? "yes" : "**no** (INVALID)");
    }
  }
  if (!t.triggers.empty()) {
    out += "\n## Triggers\n\n| trigger | definition | enabled |\n|---|---|---|\n";
    for (const auto& g : t.triggers) {
      out += fmt::format("| {} | `{}` | {} |\n", cell(g.name), cell(g.definition),
                         g.enabled ? "yes" : "no");
    }
  }
  if (!t.referenced_by.empty()) {
    out += "\n## Referenced by\n\n| table | constraint | definition |\n|---|---|---|\n";
    for (const auto& r : t.referenced_by) {
      out += fmt::format("| {} | {} | `{}` |\n", cell(r.table), cell(r.constraint),
                         cell(r.definition));
    }
  }
  out += "\n## Migrations\n\n";
  if (touched.empty()) out += "No colshift migration in the directory touched it.\n";
  for (const auto& m : touched)
    out += fmt::format("- [{}]({}) ({})\n", m.migration, m.page, m.status);
  return out;
}

std::string migration_page(const plan::Plan& p,
                           const std::optional<state::MigrationRecord>& applied,
                           const std::vector<std::string>& run_log, const PageRecord& record) {
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
    if (applied->phase == state::kCompleted || applied->phase == state::kRolledBack)
      out += fmt::format("| duration | {} |\n", human_duration(applied->duration_seconds));
    if (!applied->error.empty()) out += fmt::format("| last error | {} |\n", cell(applied->error));
    out += "\n";
  } else {
    out += "Status: **pending** (not applied to the documented database).\n\n";
  }
  out += tables_section(applied, record);
  out += "## Steps\n\n";
  const bool actual = applied.has_value();
  out += fmt::format("| # | phase | step | lock | blocks | scans | rewrites | estimate |{}\n",
                     actual ? " took |" : "");
  out += fmt::format("|---|---|---|---|---|---|---|---|{}\n", actual ? "---|" : "");
  int n = 0;
  for (const auto& s : p.steps) {
    ++n;
    std::string took;
    if (actual) {
      auto it = record.step_seconds.find(n - 1);
      took = it == record.step_seconds.end() ? " — |" : " " + human_duration(it->second) + " |";
    }
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |{}\n", n,
                       plan::phase_name(s.phase), cell(s.summary),
                       s.lock == plan::LockMode::kNone ? "—" : plan::lock_name(s.lock),
                       s.lock == plan::LockMode::kNone ? "—" : plan::lock_blocks(s.lock),
                       s.scans ? "yes" : "no", s.rewrites ? "yes" : "no", estimate(s), took);
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
  int contract = 0;
  for (size_t i = 0; i < p.steps.size() && !contract; ++i)
    if (p.steps[i].contract) contract = static_cast<int>(i) + 1;
  if (contract) {
    out += fmt::format(
        "\n**Point of no return:** step {} ({}). Once it has committed, `rollback` refuses and "
        "the migration can only be completed; before it, `rollback` undoes everything.\n",
        contract, p.steps[contract - 1].summary);
  } else {
    out +=
        "\n**Point of no return:** the end of `complete`; until then `rollback` undoes "
        "everything.\n";
  }
  out += "\nAfter `complete` the change is final; undo it with a new migration.\n";
  for (const auto& note : p.notes) out += "\n> note: " + note + "\n";
  for (const auto& w : p.warnings) out += "\n> warning: " + w + "\n";
  return out;
}

std::string index_page(const std::vector<IndexEntry>& entries,
                       const std::vector<std::string>& tables) {
  std::string out =
      "# Schema migrations\n\nGenerated by `colshift docs`; one page per migration.\n\n";
  out += "| migration | status | purpose |\n|---|---|---|\n";
  for (const auto& e : entries) {
    out += fmt::format("| [{}]({}) | {} | {} |\n", e.name, e.page, e.status, cell(e.purpose));
  }
  if (!tables.empty()) {
    out += "\n## Tables\n\n";
    for (const auto& t : tables) out += fmt::format("- [{}]({})\n", t, table_page_path(t));
  }
  return out;
}

}  // namespace colshift::docs
