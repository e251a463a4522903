// colshift lint [PATH...]: check migration files and raw SQL for dangerous
// changes. Parsing and printing only; the work is in src/lint.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "lint/catalog.h"
#include "lint/config.h"
#include "lint/linter.h"
#include "lint/output.h"
#include "lint/rules.h"
#include "lint/trace.h"
#include "pg/pg_connection.h"
#include "util/error.h"

namespace colshift::cli {

namespace {

struct LintArgs {
  std::vector<std::string> paths;
  std::string format = "text";
  std::string pg_version;
  std::string explain;
  std::string config;
  std::string transactions;
  std::string down;
  bool trace = false;
  unsigned jobs = 0;
};

int explain(const std::string& id, bool markdown) {
  if (id == "all" && markdown) {
    std::cout << lint::rules_table_markdown();
    return kExitOk;
  }
  if (id == "all") {
    for (const auto* r : lint::all_rules()) {
      std::cout << fmt::format("{:<40} {:<8} {}\n", r->id, lint::severity_name(r->severity),
                               r->summary);
    }
    return kExitOk;
  }
  const lint::RuleInfo* r = lint::find_rule(id);
  if (!r) {
    throw Error(ErrorKind::kUsage, fmt::format("no lint rule '{}'", id), {},
                "'colshift lint --explain all' lists every rule");
  }
  std::cout << (markdown ? lint::explain_markdown(*r) : lint::explain_text(*r));
  return kExitOk;
}

lint::LintOptions options_for(const LintArgs& args, const GlobalOptions& global,
                              std::unique_ptr<pg::PgConnection>& conn) {
  lint::LintOptions options;
  std::string config_path = args.config;
  if (config_path.empty()) {
    if (auto found = lint::find_config(std::filesystem::current_path().string()))
      config_path = *found;
  }
  if (!config_path.empty()) options.config = lint::load_config(config_path);
  if (!args.pg_version.empty())
    options.pg_version = lint::parse_pg_version(args.pg_version, "--pg-version");
  if (!args.transactions.empty()) {
    options.transactions = lint::parse_transaction_mode(args.transactions);
    if (!options.transactions) {
      throw Error(ErrorKind::kUsage,
                  fmt::format("--transactions: '{}' is not a transaction mode", args.transactions),
                  {}, std::string("use ") + lint::transaction_mode_words());
    }
  }
  if (!args.down.empty()) {
    options.down = lint::parse_down_mode(args.down);
    if (!options.down) {
      throw Error(ErrorKind::kUsage, fmt::format("--down: '{}' is not a down mode", args.down), {},
                  "use info, lint or skip");
    }
  }
  std::string url = global.database_url();
  if (args.trace && url.empty()) {
    throw Error(
        ErrorKind::kUsage, "--trace needs a database", {},
        "pass --db URL (a scratch copy of production's schema; every statement is rolled back)");
  }
  if (url.empty()) return options;
  if (global.db.empty() && !args.trace) {
    // DATABASE_URL alone: read the server's version and catalog when it
    // answers, lint offline (and say so) when it does not.
    try {
      conn = pg::PgConnection::connect({url, "colshift lint", 10});
    } catch (const std::exception& e) {
      std::cerr << "colshift lint: DATABASE_URL is set but the server did not answer ("
                << pg::redact_message(e.what(), url) << "); linting offline\n";
      return options;
    }
  } else {
    conn = pg::PgConnection::connect({url, "colshift lint", 10});
  }
  options.catalog = lint::load_catalog(*conn);
  return options;
}

int run_lint(const LintArgs& args, const GlobalOptions& global) {
  if (!args.explain.empty()) return explain(args.explain, args.format == "markdown");
  std::string format = global.json ? "json" : args.format;
  std::unique_ptr<pg::PgConnection> conn;
  lint::LintOptions options = options_for(args, global, conn);
  options.keep_trees = args.trace;
  std::vector<std::string> paths = args.paths;
  if (paths.empty()) paths.push_back(std::filesystem::exists("migrations") ? "migrations" : ".");
  std::vector<lint::FileReport> reports =
      lint::lint_files(lint::collect_files(paths, options.config), options, args.jobs);
  std::vector<lint::TraceReport> traces;
  if (args.trace) {
    for (const auto& r : reports)
      traces.push_back(lint::trace_file(*conn, global.database_url(), r));
  }
  bool errors = false;
  for (const auto& r : reports) errors = errors || lint::has_errors(r);
  if (format == "json") {
    nlohmann::json trace = args.trace ? lint::trace_json(traces) : nlohmann::json();
    lint::write_json(reports, args.trace ? &trace : nullptr, std::cout, args.jobs);
  } else if (format == "sarif") {
    // Names and messages carry the files' bytes: never let invalid UTF-8 throw.
    std::cout << lint::render_sarif(reports).dump(2, ' ', false,
                                                  nlohmann::json::error_handler_t::replace)
              << "\n";
  } else if (format == "gitlab") {
    std::cout << lint::render_gitlab(reports).dump(2, ' ', false,
                                                   nlohmann::json::error_handler_t::replace)
              << "\n";
  } else if (format == "github") {
    lint::render_github(reports, std::cout);
    std::cout << "::notice::colshift lint: " << lint::summary_line(reports) << "\n";
  } else {
    for (const auto& r : reports) lint::render_text(r, global.color, global.verbose, std::cout);
    for (size_t i = 0; i < traces.size(); ++i)
      lint::render_trace_text(reports[i], traces[i], std::cout);
    std::cout << lint::summary_line(reports)
              << fmt::format(" (PostgreSQL {})\n", options.effective_pg_version() / 10000);
  }
  bool trace_failed = false;
  for (const auto& t : traces) trace_failed = trace_failed || !t.disagreements().empty();
  return errors || trace_failed ? kExitLintErrors : kExitOk;
}

}  // namespace

CommandRun setup_lint(CLI::App& sub, const GlobalOptions& global) {
  auto args = std::make_shared<LintArgs>();
  sub.add_option("paths", args->paths,
                 "SQL files, colshift migration files (.yaml/.yml/.json) or directories "
                 "(default: migrations/ if present, else .)");
  sub.add_option("--format", args->format,
                 "text, json, sarif, gitlab (code quality report) or github (--json means json); "
                 "markdown with --explain")
      ->check(CLI::IsMember({"text", "json", "sarif", "gitlab", "github", "markdown"}))
      ->capture_default_str();
  sub.add_option("--pg-version", args->pg_version,
                 "target PostgreSQL version, 11 to 17 (e.g. 15 or 14.2); default: .colshift.yaml, "
                 "then the --db (or DATABASE_URL) server, then the parser's 15");
  sub.add_option("--transactions", args->transactions,
                 "how the migration runner runs each file: auto (from the file layout), none, "
                 "per-file, or a runner (diesel, sqlx, golang-migrate, flyway, pop, prisma, "
                 "dbmate, goose, psql); default: .colshift.yaml, then auto");
  sub.add_option("--down", args->down,
                 "findings in down migrations: info, lint or skip (default: .colshift.yaml, "
                 "then info)");
  sub.add_option("--explain", args->explain,
                 "print a rule's documentation ('all' lists the rules)");
  sub.add_option("--config", args->config, "use this .colshift.yaml instead of searching for one");
  sub.add_option("--jobs,-j", args->jobs, "lint this many files at once (default: one per core)")
      ->check(CLI::Range(0u, 256u));
  sub.add_flag("--trace", args->trace,
               "run each statement against --db in a transaction that is rolled back, and compare "
               "the locks, rewrites and scans it really takes with the static facts");
  return [args, &global]() { return run_lint(*args, global); };
}

}  // namespace colshift::cli
