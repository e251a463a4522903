#include "dialect/postgres/raw_sql_facts.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "dialect/postgres/postgres_dialect.h"
#include "lint/catalog.h"
#include "lint/linter.h"
#include "lint/parse.h"
#include "util/error.h"

namespace colshift::postgres {
namespace {

using lint::RelationFact;
using lint::Statement;
using migration::Hazard;

// Statements whose cost depends on the rows they touch, which colshift cannot
// know: their time is unknown, and a strong lock held during them blocks for it.
bool does_unknown_work(const std::string& kind) {
  return kind == "InsertStmt" || kind == "UpdateStmt" || kind == "DeleteStmt" ||
         kind == "SelectStmt" || kind == "DoStmt" || kind == "CallStmt";
}

// The linter rules whose recipe is the safe way for each hazard.
const std::vector<std::pair<const char*, Hazard>>& recipe_rules() {
  static const std::vector<std::pair<const char*, Hazard>> table = {
      {"column-type-rewrite", Hazard::kRewritesTable},
      {"column-type-change", Hazard::kRewritesTable},
      {"column-type-timezone-dependent", Hazard::kRewritesTable},
      {"add-column-volatile-default", Hazard::kRewritesTable},
      {"add-column-default-unproven", Hazard::kRewritesTable},
      {"add-column-default-before-11", Hazard::kRewritesTable},
      {"add-column-serial", Hazard::kRewritesTable},
      {"add-column-generated-stored", Hazard::kRewritesTable},
      {"table-rewrite", Hazard::kRewritesTable},
      {"vacuum-full-or-cluster", Hazard::kRewritesTable},
      {"refresh-matview-not-concurrently", Hazard::kRewritesTable},
      {"set-not-null", Hazard::kScansUnderLock},
      {"constraint-missing-not-valid", Hazard::kScansUnderLock},
      {"foreign-key-missing-not-valid", Hazard::kScansUnderLock},
      {"create-index-non-concurrently", Hazard::kScansUnderLock},
      {"unique-constraint-without-index", Hazard::kScansUnderLock},
      {"primary-key-without-index", Hazard::kScansUnderLock},
      {"primary-key-using-index-scan", Hazard::kScansUnderLock},
      {"exclusion-constraint", Hazard::kScansUnderLock},
      {"reindex-non-concurrently", Hazard::kScansUnderLock},
      {"attach-partition-without-check", Hazard::kScansUnderLock},
      {"validate-in-same-transaction", Hazard::kScansUnderLock},
      {"unbatched-update", Hazard::kScansUnderLock},
      {"unbatched-delete", Hazard::kScansUnderLock},
      {"lock-table", Hazard::kBlocksWrites},
      {"access-exclusive-held-across-statements", Hazard::kBlocksWrites},
      {"drop-table", Hazard::kDeletesData},
      {"drop-column", Hazard::kDeletesData},
      {"truncate", Hazard::kDeletesData},
      {"truncate-cascade", Hazard::kDeletesData},
      {"unbatched-delete", Hazard::kDeletesData},
      {"rename-column", Hazard::kBreaksOldApp},
      {"rename-table", Hazard::kBreaksOldApp},
      {"drop-column", Hazard::kBreaksOldApp},
      {"drop-table", Hazard::kBreaksOldApp},
  };
  return table;
}

lint::Catalog catalog_from(const plan::CatalogFacts& f) {
  lint::Catalog c;
  c.loaded = !f.offline;
  c.server_version = f.server_version;
  for (const auto& [written, t] : f.tables) {
    std::string key = lint::table_key(written);
    c.tables.insert(key);
    auto& cols = c.columns[key];
    for (const auto& col : t.columns) {
      cols[col.name] = {lint::parse_format_type(col.type), col.not_null};
    }
  }
  return c;
}

// The statement on one line, at most 80 bytes (cut on a UTF-8 boundary).
std::string one_line(const std::string& sql) {
  std::string out;
  bool space = false;
  for (char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() <= 80) return out;
  size_t cut = 77;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  return out.substr(0, cut) + "...";
}

// Whether statement `i` runs when the SQL runs (SQL in a function body runs
// when the function is called).
bool executes(const std::vector<Statement>& sts, size_t i) {
  for (int p = sts[i].parent; p >= 0; p = sts[static_cast<size_t>(p)].parent) {
    if (sts[static_cast<size_t>(p)].kind != "DoStmt") return false;
  }
  return true;
}

size_t top_of(const std::vector<Statement>& sts, size_t i) {
  while (sts[i].parent >= 0) i = static_cast<size_t>(sts[i].parent);
  return i;
}

// What the catalog says about a relation named in raw SQL.
struct TableView {
  std::string display;  // "schema.name"
  bool exists = true;
  bool is_table = true;
  long long rows = -1;
};

TableView view_of(const plan::CatalogFacts& facts, const std::string& written) {
  if (auto it = facts.tables.find(written); it != facts.tables.end()) {
    return {it->second.schema + "." + it->second.name, true, true, it->second.row_estimate};
  }
  TableView v;
  v.display =
      written.find('.') == std::string::npos ? facts.default_schema + "." + written : written;
  if (facts.offline) return v;  // assumed a live table of unknown size
  v.exists = !facts.missing_tables.count(written);
  v.is_table = false;  // an index, view or sequence, or not there
  return v;
}

// One top-level statement with the executing statements nested in it.
struct Group {
  std::vector<size_t> members;          // indices into the report's statements
  std::vector<RelationFact> relations;  // merged by relation
  std::vector<const lint::Finding*> findings;
};

void merge(std::vector<RelationFact>& into, const RelationFact& r) {
  for (auto& o : into) {
    if (lint::table_key(o.relation) != lint::table_key(r.relation)) continue;
    o.lock = std::max(o.lock, r.lock);
    o.rewrite = o.rewrite || r.rewrite;
    o.scan = o.scan || r.scan;
    o.index_rebuild = o.index_rebuild || r.index_rebuild;
    if (o.note.empty() || r.rewrite || r.scan) o.note = r.note.empty() ? o.note : r.note;
    return;
  }
  into.push_back(r);
}

// Collects the hazards of one statement.
class HazardList {
 public:
  HazardList(const plan::CatalogFacts& facts, const Group& g, const std::vector<Hazard>& allowed,
             bool judge)
      : facts_(facts), group_(g), allowed_(allowed), judge_(judge) {}

  // Adds `h` on `written` unless it is not a live table or is listed already.
  void add(Hazard h, const std::string& written, const std::string& reason) {
    const RelationFact* fact = relation(written);
    TableView v = view_of(facts_, written);
    if ((fact && fact->created_here) || !v.exists || !v.is_table) return;
    for (const auto& o : out_)
      if (o.hazard == h && o.relation == v.display) return;
    plan::StatementHazard s;
    s.hazard = h;
    s.relation = v.display;
    s.rows = v.rows;
    s.allowed = std::find(allowed_.begin(), allowed_.end(), h) != allowed_.end();
    s.refused = judge_ && !s.allowed && v.rows != 0;
    s.reason = reason;
    s.instead = migration::hazard_info(h).instead;
    for (const auto* f : group_.findings) {
      for (const auto& [rule, hazard] : recipe_rules()) {
        if (hazard == h && f->rule == rule && s.instead == migration::hazard_info(h).instead)
          s.instead = f->recipe;
      }
    }
    while (!s.instead.empty() && s.instead.back() == '.') s.instead.pop_back();
    out_.push_back(std::move(s));
  }
  // "public.users (~1,000 rows)": the table as hazard reasons name it.
  std::string table(const std::string& written) const {
    TableView v = view_of(facts_, written);
    return fmt::format("{} ({})", v.display, plan::rows_text(v.rows));
  }
  bool has(const std::string& display) const {
    return std::any_of(out_.begin(), out_.end(), [&](const auto& o) {
      return o.relation == display && o.hazard <= Hazard::kBlocksWrites;
    });
  }
  std::vector<plan::StatementHazard> take() { return std::move(out_); }

 private:
  const RelationFact* relation(const std::string& written) const {
    for (const auto& r : group_.relations)
      if (lint::table_key(r.relation) == lint::table_key(written)) return &r;
    return nullptr;
  }
  const plan::CatalogFacts& facts_;
  const Group& group_;
  const std::vector<Hazard>& allowed_;
  bool judge_;
  std::vector<plan::StatementHazard> out_;
};

// deletes_data and breaks_old_app, read from the statement's parse tree.
void data_and_app_hazards(const Statement& st, const std::vector<Statement>& all, size_t index,
                          const plan::CatalogFacts& facts, HazardList& out,
                          std::vector<plan::ColumnEdit>& edits) {
  namespace ast = lint::ast;
  const auto& t = st.tree;
  auto shown = [&](const std::string& written) { return view_of(facts, written).display; };
  auto sized = [&](const std::string& written) { return out.table(written); };
  if (st.kind == "DropStmt" && ast::str(t, "removeType") == "OBJECT_TABLE") {
    for (const auto& obj : ast::arr(t, "objects")) {
      std::string name = ast::dotted(ast::strings(ast::arr(ast::obj(obj, "List"), "items")));
      out.add(Hazard::kDeletesData, name, fmt::format("drops table {} with its rows", sized(name)));
      out.add(Hazard::kBreaksOldApp, name,
              fmt::format("drops table {}: app versions that still use it fail", sized(name)));
    }
  } else if (st.kind == "TruncateStmt") {
    for (const auto& r : ast::arr(t, "relations")) {
      std::string name = ast::relation_name(r);
      out.add(Hazard::kDeletesData, name, fmt::format("deletes every row of {}", sized(name)));
    }
  } else if (st.kind == "DeleteStmt" && !ast::find(t, "whereClause")) {
    std::string name = ast::relation_name(ast::obj(t, "relation"));
    out.add(Hazard::kDeletesData, name,
            fmt::format("deletes every row of {}: DELETE without WHERE", sized(name)));
  } else if (st.kind == "AlterTableStmt") {
    std::string name = ast::relation_name(ast::obj(t, "relation"));
    for (const auto& item : ast::arr(t, "cmds")) {
      const auto& cmd = ast::obj(item, "AlterTableCmd");
      if (ast::str(cmd, "subtype") != "AT_DropColumn") continue;
      std::string col = ast::str(cmd, "name");
      edits.push_back({shown(name), col, ""});
      out.add(Hazard::kDeletesData, name,
              fmt::format("drops column {} of {} with its data", col, sized(name)));
      out.add(Hazard::kBreaksOldApp, name,
              fmt::format("drops column {} of {}: app versions that still read or write it fail",
                          col, sized(name)));
    }
  } else if (st.kind == "RenameStmt") {
    std::string type = ast::str(t, "renameType");
    std::string name = ast::relation_name(ast::obj(t, "relation"));
    std::string to = ast::str(t, "newname");
    if (type == "OBJECT_COLUMN") {
      std::string col = ast::str(t, "subname");
      edits.push_back({shown(name), col, to});
      out.add(Hazard::kBreaksOldApp, name,
              fmt::format("renames column {} of {} to {}: app versions that still use {}.{} fail",
                          col, sized(name), to, shown(name), col));
    } else if (type == "OBJECT_TABLE") {
      // A view under the old name, created later in the same SQL, keeps the
      // old app working (a simple view is updatable).
      for (size_t k = index + 1; k < all.size(); ++k) {
        if (all[k].kind == "ViewStmt" && lint::table_key(ast::relation_name(ast::obj(
                                             all[k].tree, "view"))) == lint::table_key(name)) {
          return;
        }
      }
      out.add(Hazard::kBreaksOldApp, name,
              fmt::format("renames table {} to {}: app versions that still use {} fail",
                          sized(name), to, shown(name)));
    }
  }
}

}  // namespace

std::vector<std::string> raw_sql_relations(const std::string& sql) {
  lint::Catalog empty;
  lint::FileState state(empty);
  lint::FactsOptions options;
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto parsed = lint::parse_sql(sql);
  for (size_t i = 0; i < parsed.statements.size(); ++i) {
    const auto& st = parsed.statements[i];
    if (!st.error.empty()) return {};
    bool runs = executes(parsed.statements, i);
    auto facts = lint::compute_facts(st, state, options);
    for (const auto& r : facts.relations) {
      if (runs && !r.created_here && seen.insert(lint::table_key(r.relation)).second)
        out.push_back(r.relation);
    }
    state.apply(st, facts, runs);
  }
  return out;
}

RawSqlReader::RawSqlReader(const plan::CatalogFacts& facts)
    : facts_(facts),
      catalog_(catalog_from(facts)),
      options_{facts.server_version, {}},
      state_(catalog_) {}

RawSqlFacts RawSqlReader::read(const std::string& sql, const std::string& where,
                               const std::vector<Hazard>& allowed, bool judge) {
  lint::FileReport report;
  report.text = sql;
  report.statements = lint::parse_sql(sql).statements;
  for (const auto& st : report.statements) {
    if (st.parent < 0 && !st.error.empty()) {
      throw Error(ErrorKind::kBadInput,
                  fmt::format("raw_sql does not parse: {} (at character {})", st.error,
                              st.error_at.offset + 1),
                  where, "check the SQL with 'colshift lint'");
    }
  }
  lint::lint_statements(report, options_, state_);
  const auto& sts = report.statements;

  RawSqlFacts out;
  std::map<size_t, Group> groups;  // by top-level statement
  for (size_t i = 0; i < sts.size(); ++i) {
    if (!executes(sts, i)) continue;
    Group& g = groups[top_of(sts, i)];
    g.members.push_back(i);
    for (const auto& r : report.facts[i].relations) merge(g.relations, r);
    out.outside_transaction = out.outside_transaction || !report.facts[i].in_transaction;
  }
  for (const auto& f : report.findings) {
    if (f.statement >= 0)
      groups[top_of(sts, static_cast<size_t>(f.statement))].findings.push_back(&f);
  }

  // In one transaction, a lock taken by an earlier statement is held until
  // COMMIT; outside one, every statement commits on its own.
  struct Held {
    LockMode lock = LockMode::kNone;
    size_t statement = 0;  // 1-based, the first to take `lock`
    std::string written;
  };
  std::map<std::string, Held> held;  // by table key
  for (auto& [top, g] : groups) {
    if (sts[top].parent >= 0) continue;
    plan::RawStatement rs;
    rs.summary = one_line(sts[top].text);
    const size_t number = out.sql.size() + 1;
    bool unknown_work = false, index_build = false;
    for (size_t m : g.members) {
      unknown_work = unknown_work || does_unknown_work(sts[m].kind);
      index_build = index_build || sts[m].kind == "IndexStmt" || sts[m].kind == "ReindexStmt";
    }
    HazardList hazards(facts_, g, allowed, judge);
    double seconds = 0;
    bool seconds_unknown = unknown_work;
    for (const auto& r : g.relations) {
      TableView v = view_of(facts_, r.relation);
      std::string key = lint::table_key(r.relation);
      plan::RelationEffect e;
      e.relation = v.display;
      e.lock = r.lock;
      e.rewrites = r.rewrite;
      e.scans = r.scan;
      e.live = !r.created_here && v.exists && v.is_table;
      e.rows = e.live ? v.rows : 0;
      e.note = r.note;
      if (auto h = held.find(key); h != held.end() && h->second.lock > r.lock) {
        e.lock = h->second.lock;
        e.note +=
            fmt::format("{}the transaction holds {} since statement {}", e.note.empty() ? "" : "; ",
                        plan::lock_name(e.lock), h->second.statement);
      }
      if (r.created_here) {
        e.note = "new: created by this migration, not yet in use";
      } else if (!v.exists) {
        e.note = "does not exist before the migration";
      } else if (!v.is_table) {
        e.note = "not a table";
      }
      if (e.live && (e.rewrites || e.scans)) {
        double rate = e.rewrites                       ? kRewriteRowsPerSecond
                      : index_build || r.index_rebuild ? kIndexRowsPerSecond
                                                       : kValidateRowsPerSecond;
        if (e.rows < 0)
          seconds_unknown = true;
        else
          seconds += static_cast<double>(e.rows) / rate;
      }
      const bool blocks_writes = lint::blocks_of(e.lock).writes;
      const std::string why = r.note.empty() ? "" : " (" + r.note + ")";
      if (e.rewrites && blocks_writes) {
        hazards.add(Hazard::kRewritesTable, r.relation,
                    fmt::format("rewrites {} under {}{}: {}", hazards.table(r.relation),
                                plan::lock_name(e.lock), why, plan::lock_blocks(e.lock)));
      } else if (e.scans && blocks_writes) {
        hazards.add(Hazard::kScansUnderLock, r.relation,
                    fmt::format("scans {} under {}{}: {}", hazards.table(r.relation),
                                plan::lock_name(e.lock), why, plan::lock_blocks(e.lock)));
      } else if (blocks_writes && sts[top].kind == "LockStmt") {
        hazards.add(Hazard::kBlocksWrites, r.relation,
                    fmt::format("locks {} in {} mode until the transaction ends: {}",
                                hazards.table(r.relation), plan::lock_name(e.lock),
                                plan::lock_blocks(e.lock)));
      }
      rs.relations.push_back(std::move(e));
    }
    // A strong lock taken earlier in the transaction stays held while this
    // statement does work of table size or of unknown size.
    bool works = unknown_work ||
                 std::any_of(rs.relations.begin(), rs.relations.end(),
                             [](const auto& e) { return e.live && (e.rewrites || e.scans); });
    if (!out.outside_transaction && works) {
      for (const auto& [key, h] : held) {
        TableView v = view_of(facts_, h.written);
        if (!lint::blocks_of(h.lock).writes || hazards.has(v.display)) continue;
        hazards.add(Hazard::kBlocksWrites, h.written,
                    fmt::format("runs while the transaction holds {} on {}, taken by statement "
                                "{}: {} meanwhile",
                                plan::lock_name(h.lock), hazards.table(h.written), h.statement,
                                plan::lock_blocks(h.lock)));
      }
    }
    for (size_t m : g.members)
      data_and_app_hazards(sts[m], sts, m, facts_, hazards, rs.column_edits);
    if (!out.outside_transaction) {
      for (const auto& r : g.relations) {
        if (r.created_here) continue;
        auto& h = held[lint::table_key(r.relation)];
        if (r.lock > h.lock) h = {r.lock, number, r.relation};
      }
    }
    rs.hazards = hazards.take();
    rs.estimate_seconds = seconds_unknown ? -1 : seconds;
    out.sql.push_back(sts[top].text);
    out.statements.push_back(std::move(rs));
  }
  return out;
}

}  // namespace colshift::postgres
