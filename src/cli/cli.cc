#include "cli/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <regex>

#include "cli/common.h"
#include "cli/version.h"
#include "pg/pg_connection.h"
#include "util/error.h"

namespace colshift::cli {

// Each command's setup, defined in its cmd_*.cc file.
CommandRun setup_init(CLI::App&, const GlobalOptions&);
CommandRun setup_new(CLI::App&, const GlobalOptions&);
CommandRun setup_lint(CLI::App&, const GlobalOptions&);
CommandRun setup_plan(CLI::App&, const GlobalOptions&);
CommandRun setup_start(CLI::App&, const GlobalOptions&);
CommandRun setup_status(CLI::App&, const GlobalOptions&);
CommandRun setup_complete(CLI::App&, const GlobalOptions&);
CommandRun setup_rollback(CLI::App&, const GlobalOptions&);
CommandRun setup_migrate(CLI::App&, const GlobalOptions&);
CommandRun setup_history(CLI::App&, const GlobalOptions&);
CommandRun setup_docs(CLI::App&, const GlobalOptions&);
CommandRun setup_pause(CLI::App&, const GlobalOptions&);
CommandRun setup_resume(CLI::App&, const GlobalOptions&);
CommandRun setup_throttle(CLI::App&, const GlobalOptions&);
CommandRun setup_abort(CLI::App&, const GlobalOptions&);
CommandRun setup_events(CLI::App&, const GlobalOptions&);
CommandRun setup_deliver(CLI::App&, const GlobalOptions&);
CommandRun setup_serve(CLI::App&, const GlobalOptions&);
CommandRun setup_watch(CLI::App&, const GlobalOptions&);
CommandRun setup_completion(CLI::App&, const GlobalOptions&);
CommandRun setup_manpages(CLI::App&, const GlobalOptions&);

const std::vector<CommandSpec>& command_table() {
  static const std::vector<CommandSpec> table = {
      {"init", "create colshift's own schema (state, history, events)", setup_init},
      {"new", "write a migration skeleton", setup_new},
      {"lint", "check migration files and raw SQL for dangerous changes", setup_lint},
      {"plan", "show steps, locks, hazards, estimated time and rollback plan; changes nothing",
       setup_plan},
      {"start",
       "expand, backfill, finish; leaves the migration active with old and new app versions both "
       "working; refuses raw SQL hazards the file does not allow",
       setup_start},
      {"status",
       "the active migration: phase, backfill progress, ETA, guards, how the new app version "
       "declares itself, what to run next",
       setup_status},
      {"pause", "pause the running backfill (from another terminal)", setup_pause},
      {"resume", "resume a paused backfill", setup_resume},
      {"throttle", "change the running backfill's throttle thresholds", setup_throttle},
      {"abort", "stop the running start after its current batch (resumable)", setup_abort},
      {"complete",
       "contract the active migration once old-version writes have stopped (--force: now)",
       setup_complete},
      {"watch",
       "read the active migration's guards (pause, rollback, warn) until it is completed or "
       "rolled back, or for --for",
       setup_watch},
      {"rollback", "undo the active migration", setup_rollback},
      {"migrate", "start and complete every pending migration in order", setup_migrate},
      {"history", "what was applied, when, by whom, how long it took", setup_history},
      {"events", "print colshift's events as JSON lines (--follow waits for new ones)",
       setup_events},
      {"deliver",
       "deliver events to webhooks: CloudEvents JSON, signed per Standard Webhooks, in order, at "
       "least once",
       setup_deliver},
      {"serve",
       "serve a live status page (HTML, Server-Sent Events, JSON) of the migrations in flight",
       setup_serve},
      {"docs", "write the schema repository's record: a page per migration and per table",
       setup_docs},
      {"completion", "print the shell completion script for bash, zsh or fish", setup_completion},
      // Hidden from --help: the build runs it to write the man pages.
      {"manpages", "write one man page per command (colshift.1, colshift-NAME.1)", setup_manpages},
  };
  return table;
}

std::string GlobalOptions::database_url() const {
  if (!db.empty()) return db;
  const char* env = std::getenv("DATABASE_URL");
  return env ? env : "";
}

std::chrono::milliseconds GlobalOptions::lock_timeout_ms() const {
  return parse_positive_duration(
      lock_timeout, "--lock-timeout",
      "0 would let each DDL step wait for its lock without limit; the default is 500ms");
}

std::chrono::milliseconds parse_duration(const std::string& text, const std::string& flag) {
  static const std::regex re(R"(^\s*(-?)\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|min|h)?\s*$)");
  const char* units =
      "write a number with a unit: 500ms, 2s, 5m or 1h (a bare number is milliseconds)";
  std::smatch m;
  if (!std::regex_match(text, m, re)) {
    throw Error(ErrorKind::kUsage, fmt::format("{}: '{}' is not a duration", flag, text), {},
                units);
  }
  if (m[1].length() > 0) {
    throw Error(ErrorKind::kUsage, fmt::format("{}: '{}' is negative", flag, text), {},
                fmt::format("a duration is 0 or more; {}", units));
  }
  double value = std::stod(m[2].str());
  std::string unit = m[3].matched ? m[3].str() : "ms";
  double ms = value;
  if (unit == "s") ms = value * 1000;
  if (unit == "m" || unit == "min") ms = value * 60'000;
  if (unit == "h") ms = value * 3'600'000;
  constexpr double kMaxMs = 1e12;  // about 30 years; beyond it the count overflows
  if (ms > kMaxMs) {
    throw Error(ErrorKind::kUsage, fmt::format("{}: '{}' is too long", flag, text), {}, units);
  }
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

std::chrono::milliseconds parse_positive_duration(const std::string& text, const std::string& flag,
                                                  const std::string& hint) {
  auto d = parse_duration(text, flag);
  if (d.count() <= 0) throw Error(ErrorKind::kUsage, flag + " must be more than 0", {}, hint);
  return d;
}

namespace {

// The kind as --json names it.
const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUsage:
      return "usage";
    case ErrorKind::kBadInput:
      return "bad_input";
    case ErrorKind::kLintFailed:
      return "lint_failed";
    case ErrorKind::kChangeFailed:
      return "change_failed";
    case ErrorKind::kLockTimeout:
      return "lock_timeout";
    case ErrorKind::kConnection:
      return "connection";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kInterrupted:
      return "interrupted";
  }
  return "change_failed";
}

// With --json, an error is also one object on stdout (the human text stays on
// stderr): {"error": {"kind", "message", "where", "hint", "exit_code"}}, where
// "where" is the location line alone (file:line:col, a statement, a URL).
void print_json_error(const std::string& kind, const std::string& message, const std::string& where,
                      const std::string& hint, int exit_code) {
  print_json({{"error",
               {{"kind", kind},
                {"message", message},
                {"where", where},
                {"hint", hint},
                {"exit_code", exit_code}}}});
}

// --json anywhere before "--" (it is global, and may follow the command);
// read from argv so that a command line CLI11 refuses still gets JSON.
bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") return false;
    if (a == "--json") return true;
  }
  return false;
}

}  // namespace

std::unique_ptr<CliApp> make_cli_app() {
  auto cli = std::make_unique<CliApp>();
  cli->app = std::make_unique<CLI::App>(
      "colshift: ship schema changes to live databases with zero downtime, "
      "reversibly, with a record of why and how.",
      "colshift");
  CLI::App& app = *cli->app;
  GlobalOptions& global = cli->global;
  app.require_subcommand(1);
  app.set_version_flag("--version", version_text(),
                       "print the version, the git commit it was built from and the PostgreSQL "
                       "parser version lint uses");
  app.add_option("--db", global.db,
                 "database URL or keyword string (default: $DATABASE_URL, then PG* variables)");
  app.add_option("--schema", global.schema, "colshift's own schema in the target database")
      ->capture_default_str();
  app.add_option("--lock-timeout", global.lock_timeout,
                 "lock_timeout for every DDL step, more than 0; retried with backoff (e.g. 500ms, "
                 "2s)")
      ->capture_default_str();
  app.add_flag("--json", global.json,
               "machine-readable output on stdout, errors included; logs on stderr");
  app.add_flag("-v,--verbose", global.verbose, "log every SQL statement to stderr");
  app.fallthrough();  // global options may also follow the command name

  for (const auto& spec : command_table()) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.summary);
    cli->runs.push_back(spec.setup(*sub, global));
    cli->subs.push_back(sub);
  }
  return cli;
}

int run_cli(int argc, char** argv) {
  auto cli = make_cli_app();
  CLI::App& app = *cli->app;
  GlobalOptions& global = cli->global;
  const auto& subs = cli->subs;
  const auto& runs = cli->runs;

  const bool json = wants_json(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    if (rc == 0) return kExitOk;  // --help, --version
    if (json) print_json_error("usage", e.what(), "", "run 'colshift --help'", kExitBadInput);
    return kExitBadInput;
  }
  pg::set_statement_log(global.verbose);
  global.color = std::getenv("NO_COLOR") == nullptr && isatty(STDOUT_FILENO) && !global.json;

  try {
    global.lock_timeout_ms();  // a bad global flag is refused by every command
    for (size_t i = 0; i < subs.size(); ++i) {
      if (subs[i]->parsed()) return runs[i]();
    }
    return kExitBadInput;
  } catch (const Error& e) {
    std::cerr << "colshift: " << e.render() << "\n";
    int rc = exit_code_for(e.kind());
    if (json)
      print_json_error(error_kind_name(e.kind()), e.what(), error_location(e), e.hint(), rc);
    return rc;
  } catch (const std::exception& e) {
    const char* hint =
        "this is a bug in colshift; the database was left as the state table records it "
        "('colshift status')";
    std::cerr << "colshift internal error: " << e.what() << "\n  hint: " << hint << "\n";
    if (json) print_json_error("internal", e.what(), "", hint, kExitChangeFailed);
    return kExitChangeFailed;
  }
}

}  // namespace colshift::cli
