#include "lint/linter.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>

#include "lint/facts.h"
#include "lint/migration_file.h"
#include "lint/parse.h"
#include "lint/rules.h"
#include "lint/runner.h"
#include "lint/source.h"
#include "util/error.h"
#include "util/parallel.h"

namespace colshift::lint {

namespace fs = std::filesystem;

int LintOptions::effective_pg_version() const {
  if (pg_version) return pg_version;
  if (config.pg_version) return config.pg_version;
  if (catalog.loaded && catalog.server_version) return catalog.server_version;
  return kDefaultPgVersion;
}

TransactionMode LintOptions::effective_transactions() const {
  if (transactions) return *transactions;
  return config.transactions.value_or(TransactionMode::kAuto);
}

DownMode LintOptions::effective_down() const {
  if (down) return *down;
  return config.down.value_or(DownMode::kInfo);
}

namespace {

// The bytes of the file at `path` into `out` with one read for a regular
// file (an ifstream copied through a stringstream cost more than the read).
bool read_whole_file(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat info {};
  size_t size =
      ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) ? static_cast<size_t>(info.st_size) : 0;
  out.resize(size);
  size_t have = 0;
  bool ok = true;
  while (true) {
    if (have == out.size()) out.resize(std::max<size_t>(4096, out.size() * 2));
    ssize_t n = ::read(fd, out.data() + have, out.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    have += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(have);
  return ok;
}

bool ignored_by(const std::vector<Statement>& statements, int index, const std::string& rule) {
  while (index >= 0) {
    const auto& st = statements[static_cast<size_t>(index)];
    if (std::find(st.ignores.begin(), st.ignores.end(), rule) != st.ignores.end()) return true;
    index = st.parent;
  }
  return false;
}

void report_unknown_ignores(const std::vector<Statement>& statements, std::vector<Finding>& out) {
  const RuleInfo* info = find_rule("unknown-rule-in-ignore");
  for (size_t i = 0; i < statements.size(); ++i) {
    for (const auto& id : statements[i].ignores) {
      if (find_rule(id)) continue;
      out.push_back({info->id, info->severity,
                     fmt::format("colshift:ignore names unknown rule '{}'.", id), info->recipe,
                     static_cast<int>(i), statements[i].ignore_at});
    }
  }
}

// Drops ignored and disabled findings, applies severity overrides, sorts. A
// down migration's findings become info (or go) as --down / lint.down says:
// it restores an old shape on purpose. Syntax errors stay what they are.
void settle(FileReport& report, const LintOptions& options) {
  auto& fs = report.findings;
  const auto& cfg = options.config;
  fs.erase(
      std::remove_if(fs.begin(), fs.end(),
                     [&](const Finding& f) {
                       if (f.statement >= 0 && ignored_by(report.statements, f.statement, f.rule)) {
                         return true;
                       }
                       if (f.rule == "missing-lock-timeout" &&
                           (options.assume_lock_timeout || cfg.assume_lock_timeout)) {
                         return true;
                       }
                       auto it = cfg.enabled.find(f.rule);
                       return it != cfg.enabled.end() && !it->second;
                     }),
      fs.end());
  for (auto& f : fs) {
    if (auto it = cfg.severity.find(f.rule); it != cfg.severity.end()) f.severity = it->second;
  }
  if (report.down && options.effective_down() != DownMode::kLint) {
    bool skip = options.effective_down() == DownMode::kSkip;
    // What these rules report is the removal itself (a column, a table, a NOT
    // NULL): in a down migration that removal is its purpose, undoing the up.
    static const std::set<std::string> kRemovalIsThePoint = {"drop-column", "drop-table",
                                                             "drop-not-null"};
    fs.erase(std::remove_if(fs.begin(), fs.end(),
                            [&](const Finding& f) {
                              return f.rule != "syntax-error" &&
                                     (skip || kRemovalIsThePoint.count(f.rule));
                            }),
             fs.end());
    for (auto& f : fs) {
      if (f.rule != "syntax-error") f.severity = Severity::kInfo;
    }
  }
  std::stable_sort(fs.begin(), fs.end(),
                   [](const Finding& a, const Finding& b) { return a.at.offset < b.at.offset; });
}

}  // namespace

void lint_statements(FileReport& report, const FactsOptions& fopts, FileState& state) {
  SourceText src(report.text);
  std::set<std::string> memo;
  const auto& sts = report.statements;
  for (size_t i = 0; i < sts.size(); ++i) {
    const Statement& st = sts[i];
    // SQL in a function body runs when the function is called, not now.
    bool executes = st.parent < 0 || sts[static_cast<size_t>(st.parent)].kind == "DoStmt";
    StatementFacts facts = compute_facts(st, state, fopts);
    RuleContext ctx(src, sts, static_cast<int>(i), facts, state, fopts, executes, memo,
                    report.findings);
    for (const auto* family : rule_families()) family->check(ctx);
    state.apply(st, facts, executes);
    report.facts.push_back(std::move(facts));
  }
}

FileReport lint_sql(const std::string& path, const std::string& text, const LintOptions& options) {
  FileReport report;
  report.path = path;
  report.text = text;
  report.pg_version = options.effective_pg_version();
  ParsedSql parsed = parse_sql(text);
  report.statements = std::move(parsed.statements);
  if (parsed.ignore_file) {
    report.skipped = true;
    return report;
  }
  FactsOptions fopts{report.pg_version, !options.config.timezone.empty()
                                            ? options.config.timezone
                                            : options.catalog.timezone};
  RunContext run = run_context(path, text, options.effective_transactions());
  if (run.one_statement_autocommits) {
    size_t top = std::count_if(report.statements.begin(), report.statements.end(),
                               [](const Statement& st) { return st.parent < 0; });
    if (top <= 1) run.in_transaction = false;
  }
  report.in_transaction = run.in_transaction;
  report.down = run.down;
  FileState state(options.catalog);
  if (run.in_transaction) state.run_in_transaction(run.why);
  lint_statements(report, fopts, state);
  check_end_of_file(SourceText(text), report.statements, state, report.findings);
  if (const RuleInfo* meta = find_rule("psql-meta-command")) {
    for (const auto& m : parsed.meta_commands) {
      std::string word = m.text.substr(0, m.text.find_first_of(" \t"));
      // A runner (not psql) sends the line to PostgreSQL, which rejects it.
      bool runner = run.in_transaction && run.why != "setting: per-file";
      report.findings.push_back(
          {meta->id, runner ? Severity::kError : meta->severity,
           runner ? fmt::format("psql meta-command {} in a file a migration runner runs ({}), "
                                "not psql: the runner sends the line to PostgreSQL, which "
                                "rejects it.",
                                word, run.why)
                  : fmt::format("psql meta-command {} skipped: only psql runs it{}.", word,
                                word == "\\i" || word == "\\ir" || word == "\\include"
                                    ? "; the file it includes is not linted here"
                                    : ""),
           runner ? std::string("Remove it, or run the file with psql.") : meta->recipe, -1, m.at});
    }
  }
  report_unknown_ignores(report.statements, report.findings);
  settle(report, options);
  if (!options.keep_trees) {
    for (auto& st : report.statements) st.tree = nlohmann::json();
  }
  return report;
}

FileReport lint_file(const std::string& path, const LintOptions& options) {
  std::string text;
  if (!read_whole_file(path, text)) {
    throw Error(ErrorKind::kBadInput, "cannot read the file", path, "check the path");
  }
  std::string ext = fs::path(path).extension().string();
  if (ext == ".yaml" || ext == ".yml" || ext == ".json") {
    FileReport r = lint_migration_file(path, text, options);
    settle(r, options);
    return r;
  }
  return lint_sql(path, text, options);
}

std::vector<FileReport> lint_files(const std::vector<std::string>& files,
                                   const LintOptions& options, unsigned jobs) {
  // Files are independent and the linter keeps no shared mutable state
  // (libpg_query's parser is thread-safe), so each worker takes the next file.
  std::vector<FileReport> reports(files.size());
  std::vector<std::exception_ptr> errors(files.size());
  util::parallel_for(files.size(), jobs, [&](size_t i) {
    try {
      reports[i] = lint_file(files[i], options);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  });
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return reports;
}

namespace {

// A .yaml/.yml/.json file found in a directory is linted only when it is a
// colshift migration (a top-level `operations` key): package.json,
// docker-compose.yml and CI files are not migrations.
bool looks_like_migration(const fs::path& path) {
  if (path.extension() == ".sql") return true;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("operations:", 0) == 0) return true;
    if (line.find("\"operations\"") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> collect_files(const std::vector<std::string>& paths,
                                       const LintConfig& config) {
  static const std::set<std::string> kExtensions = {".sql", ".yaml", ".yml", ".json"};
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      if (!fs::exists(p, ec)) throw Error(ErrorKind::kBadInput, "no such file or directory", p);
      if (!config.excluded(p)) out.push_back(p);
      continue;
    }
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(p, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const auto& e = *it;
      std::string name = e.path().filename().string();
      if (e.is_directory() &&
          (name.starts_with(".") || name == "node_modules" || name.starts_with("build"))) {
        it.disable_recursion_pending();
        continue;
      }
      if (!e.is_regular_file() || !kExtensions.count(e.path().extension().string())) continue;
      if (name == ".colshift.yaml" || config.excluded(e.path().string())) continue;
      if (!looks_like_migration(e.path())) continue;
      found.push_back(e.path().string());
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

bool has_errors(const FileReport& report) {
  return std::any_of(report.findings.begin(), report.findings.end(),
                     [](const Finding& f) { return f.severity == Severity::kError; });
}

}  // namespace colshift::lint
