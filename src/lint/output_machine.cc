// Machine-readable output: JSON, SARIF 2.1.0, GitHub annotations.
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "lint/output.h"
#include "util/json_writer.h"
#include "util/parallel.h"

namespace colshift::lint {

using json = nlohmann::json;

namespace {

const char* sarif_level(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInfo:
      return "note";
  }
  return "warning";
}

// Escaping of GitHub workflow command data and properties.
std::string gh_escape(const std::string& s, bool property) {
  std::string out;
  for (char c : s) {
    if (c == '%')
      out += "%25";
    else if (c == '\r')
      out += "%0D";
    else if (c == '\n')
      out += "%0A";
    else if (property && c == ':')
      out += "%3A";
    else if (property && c == ',')
      out += "%2C";
    else
      out += c;
  }
  return out;
}

}  // namespace

namespace {

void write_blocks(util::JsonWriter& w, const Blocks& b) {
  w.begin_object().member("ddl", b.ddl).member("reads", b.reads).member("writes", b.writes);
  w.end_object();
}

void write_position(util::JsonWriter& w, const Position& p) {
  w.begin_object().member("column", p.column).member("line", p.line).member("offset", p.offset);
  w.end_object();
}

void write_finding(util::JsonWriter& w, const Finding& f) {
  w.begin_object()
      .member("column", f.at.column)
      .member("line", f.at.line)
      .member("message", f.message)
      .member("offset", f.at.offset)
      .member("recipe", f.recipe)
      .member("rule", f.rule)
      .member("severity", severity_name(f.severity))
      .key("statement");
  if (f.statement >= 0) {
    w.value(f.statement);
  } else {
    w.null();
  }
  w.end_object();
}

void write_statement(util::JsonWriter& w, const Statement& st, const StatementFacts& facts,
                     int index) {
  w.begin_object().member("column", st.start.column).key("error");
  if (st.error.empty()) {
    w.null();
  } else {
    w.begin_object().member("message", st.error).key("position");
    write_position(w, st.error_at);
    w.end_object();
  }
  w.key("facts").begin_object().key("blocks");
  write_blocks(w, facts.blocks());
  w.member("in_transaction_allowed", facts.in_transaction)
      .member("lock", lock_name(facts.strongest()))
      .key("lock_timeout");
  if (facts.lock_timeout.empty()) {
    w.null();
  } else {
    w.value(facts.lock_timeout);
  }
  w.key("relations").begin_array();
  for (const auto& r : facts.relations) {
    w.begin_object().key("blocks");
    write_blocks(w, blocks_of(r.lock));
    w.member("created_here", r.created_here)
        .member("index_rebuild", r.index_rebuild)
        .member("lock", lock_name(r.lock))
        .member("new_file", r.new_file)
        .member("note", r.note)
        .member("relation", r.relation)
        .member("rewrite", r.rewrite)
        .member("scan", r.scan)
        .end_object();
  }
  w.end_array().end_object();
  w.member("index", index)
      .member("kind", st.kind)
      .member("length", st.length)
      .member("line", st.start.line)
      .member("offset", st.offset)
      .key("parent");
  if (st.parent >= 0) {
    w.value(st.parent);
  } else {
    w.null();
  }
  w.member("sql", st.text).end_object();
}

// One element of "files".
void write_file(util::JsonWriter& w, const FileReport& r) {
  w.begin_object().key("findings").begin_array();
  for (const auto& f : r.findings) write_finding(w, f);
  w.end_array();
  w.member("path", r.path).member("pg_version", r.pg_version).member("skipped", r.skipped);
  w.key("statements").begin_array();
  StatementFacts none;
  for (size_t i = 0; i < r.statements.size(); ++i) {
    write_statement(w, r.statements[i], i < r.facts.size() ? r.facts[i] : none,
                    static_cast<int>(i));
  }
  w.end_array().end_object();
}

}  // namespace

void write_json(const std::vector<FileReport>& reports, const nlohmann::json* trace,
                std::ostream& os, unsigned jobs) {
  std::string out;  // flushed to `os` after every batch of files
  out.reserve(1 << 16);
  auto flush = [&] {
    os.write(out.data(), static_cast<std::streamsize>(out.size()));
    out.clear();
  };
  // Members in sorted order: the same bytes as nlohmann's dump(2) of the
  // equivalent document, which is how this shape was first defined.
  util::JsonWriter w(out, 2);
  size_t errors = 0, warnings = 0, infos = 0, statements = 0;
  int version = 0;
  w.begin_object().key("files").begin_array();
  // Each file is rendered on its own (in parallel, a batch at a time, so
  // memory stays bounded) and written in order.
  constexpr size_t kBatch = 128;
  std::vector<std::string> parts;
  for (size_t first = 0; first < reports.size(); first += kBatch) {
    size_t n = std::min(kBatch, reports.size() - first);
    parts.assign(n, std::string());
    util::parallel_for(n, jobs, [&](size_t i) {
      util::JsonWriter fw(parts[i], 2, w.depth());
      write_file(fw, reports[first + i]);
    });
    // Only the separator goes through `out`: each part is written as it is.
    for (const auto& part : parts) {
      w.fragment({});
      flush();
      os.write(part.data(), static_cast<std::streamsize>(part.size()));
    }
  }
  for (const auto& r : reports) {
    for (const auto& f : r.findings) {
      errors += f.severity == Severity::kError;
      warnings += f.severity == Severity::kWarning;
      infos += f.severity == Severity::kInfo;
    }
    statements += r.statements.size();
    version = r.pg_version;
  }
  w.end_array();
  w.member("format", "colshift-lint").member("pg_version", version);
  w.key("summary")
      .begin_object()
      .member("errors", errors)
      .member("files", reports.size())
      .member("info", infos)
      .member("statements", statements)
      .member("warnings", warnings)
      .end_object();
  if (trace) w.key("trace").raw(trace->dump(2, ' ', false, json::error_handler_t::replace));
  w.member("version", 1).end_object();
  out += '\n';
  flush();
}

json render_json(const std::vector<FileReport>& reports) {
  std::ostringstream out;
  write_json(reports, nullptr, out);
  return json::parse(out.str());
}

json render_sarif(const std::vector<FileReport>& reports) {
  json rules = json::array();
  for (const auto* r : all_rules()) {
    rules.push_back({{"id", r->id},
                     {"name", r->id},
                     {"shortDescription", {{"text", r->summary}}},
                     {"fullDescription", {{"text", r->why}}},
                     {"help", {{"text", r->recipe}, {"markdown", explain_markdown(*r)}}},
                     {"helpUri", fmt::format("docs/lint/{}.md", r->id)},
                     {"defaultConfiguration", {{"level", sarif_level(r->severity)}}}});
  }
  json results = json::array();
  for (const auto& rep : reports) {
    for (const auto& f : rep.findings) {
      results.push_back(
          {{"ruleId", f.rule},
           {"level", sarif_level(f.severity)},
           {"message", {{"text", f.message + (f.recipe.empty() ? "" : " Fix: " + f.recipe)}}},
           {"locations",
            json::array(
                {{{"physicalLocation",
                   {{"artifactLocation", {{"uri", rep.path}}},
                    {"region", {{"startLine", f.at.line}, {"startColumn", f.at.column}}}}}}})}});
    }
  }
  return {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
          {"version", "2.1.0"},
          {"runs", json::array({{{"tool",
                                  {{"driver",
                                    {{"name", "colshift"},
                                     {"version", "0.1.0"},
                                     {"informationUri", "https://github.com/colshift/colshift"},
                                     {"rules", rules}}}}},
                                 {"results", results}}})}};
}

void render_github(const std::vector<FileReport>& reports, std::ostream& out) {
  for (const auto& rep : reports) {
    for (const auto& f : rep.findings) {
      const char* level = f.severity == Severity::kError     ? "error"
                          : f.severity == Severity::kWarning ? "warning"
                                                             : "notice";
      out << fmt::format(
          "::{} file={},line={},col={},title={}::{}\n", level, gh_escape(rep.path, true), f.at.line,
          f.at.column, gh_escape("colshift " + f.rule, true),
          gh_escape(f.message + (f.recipe.empty() ? "" : "\nFix: " + f.recipe), false));
    }
  }
}

}  // namespace colshift::lint
