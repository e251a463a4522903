// Transactions, timeouts and lock order: how long a statement can make
// production queries wait, and whether the file's transactions can deadlock.
#include <fmt/format.h>

#include <cctype>

#include "lint/rule_helpers.h"

namespace colshift::lint {

using ast::json;

namespace {

// A lock_timeout / statement_timeout value in milliseconds; -1 if unknown.
long long timeout_ms(const std::string& v) {
  size_t i = 0;
  while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) ++i;
  if (i == 0) return -1;
  double n = std::stod(v.substr(0, i));
  std::string unit(trim(v.substr(i)));
  if (unit.empty() || unit == "ms") return static_cast<long long>(n);
  if (unit == "s") return static_cast<long long>(n * 1000);
  if (unit == "min") return static_cast<long long>(n * 60000);
  if (unit == "h") return static_cast<long long>(n * 3600000);
  if (unit == "us") return static_cast<long long>(n / 1000);
  return -1;
}

std::string transaction_key(const RuleContext& ctx) {
  return ctx.state().in_transaction() ? std::to_string(ctx.state().transaction_start().offset)
                                      : "auto";
}

// "an ACCESS EXCLUSIVE lock", "a SHARE ROW EXCLUSIVE lock".
std::string a_lock(LockMode m) {
  std::string label = lock_label(m);
  bool vowel = !label.empty() && std::string("AEIOU").find(label[0]) != std::string::npos;
  return fmt::format("{} {} lock", vowel ? "an" : "a", label);
}

// What queues behind a waiting request for `m` on `table` (quoted, or a phrase).
std::string queued_behind(LockMode m, const std::string& table) {
  Blocks b = blocks_of(m);
  if (b.reads) return fmt::format("every query on {} queues behind it", table);
  if (b.writes) return fmt::format("every write to {} queues behind it (reads continue)", table);
  return fmt::format("other DDL on {} queues behind it", table);
}

void check_timeouts(RuleContext& ctx) {
  LockMode lock = ctx.facts().strongest();
  bool blocking = lock >= LockMode::kShare;
  if (!blocking || !ctx.executes()) return;
  if (ctx.state().lock_timeout().empty() && ctx.once("lock_timeout:" + transaction_key(ctx))) {
    // Name the live relation with the strongest lock.
    const RelationFact* worst = nullptr;
    for (const auto& r : ctx.facts().relations) {
      if (!r.created_here && (!worst || r.lock > worst->lock)) worst = &r;
    }
    std::string table = worst ? fmt::format("\"{}\"", worst->relation) : "the table";
    // DROP INDEX locks the index's table, which offline is known only by the index.
    if (worst && ctx.st().kind == "DropStmt" &&
        ast::str(ctx.st().tree, "removeType") == "OBJECT_INDEX") {
      table = fmt::format("the table of index \"{}\"", worst->relation);
    }
    ctx.report("missing-lock-timeout",
               fmt::format("This statement waits for {} on {} with no lock_timeout: while it "
                           "waits, {}.",
                           a_lock(lock), table, queued_behind(lock, table)),
               -1,
               ctx.state().in_transaction()
                   ? "SET LOCAL lock_timeout = '1s' at the start of the transaction and retry "
                     "the migration on timeout."
                   : "SET lock_timeout = '1s' before this statement and retry on timeout.");
  }
  const RelationFact* long_running = nullptr;  // the live table it reads or rewrites
  for (const auto& r : ctx.facts().relations) {
    if (!long_running && !r.created_here && (r.rewrite || r.scan)) long_running = &r;
  }
  if (long_running && ctx.state().statement_timeout().empty() &&
      ctx.once("statement_timeout:" + transaction_key(ctx))) {
    ctx.report("missing-statement-timeout",
               fmt::format("This statement {} the whole of \"{}\" while holding {}, with no "
                           "statement_timeout to bound how long it blocks.",
                           long_running->rewrite ? "rewrites" : "reads", long_running->relation,
                           a_lock(lock)));
  }
}

void check_lock_order(RuleContext& ctx) {
  for (const auto& r : ctx.facts().relations) {
    if (r.created_here || r.lock < LockMode::kShareRowExclusive) continue;
    // Only the transaction's first strong lock on a table sets the order; a
    // table it already holds is not locked again. So the opposite order can
    // only come from another transaction of the file.
    std::string key = table_key(r.relation);
    if (ctx.state().transaction_holds(key)) continue;
    for (const auto& [earlier, mode] : ctx.state().transaction_locks()) {
      if (auto where = ctx.state().opposite_order(earlier, key)) {
        ctx.report(
            "lock-order-conflict",
            fmt::format("This transaction locks \"{}\" after \"{}\", but line {} locks them in "
                        "the opposite order: two runs (or the app) can deadlock.",
                        r.relation, earlier, where->line));
      }
    }
  }
  // Holding the lock costs only while this statement takes long: it reads
  // or rewrites a live table, changes rows (UPDATE, DELETE), or waits for a
  // lock on another live table.
  const std::string& held = ctx.state().exclusive_held();
  const auto& kind = ctx.st().kind;
  bool slow = kind == "UpdateStmt" || kind == "DeleteStmt";
  for (const auto& r : ctx.facts().relations) {
    if (r.created_here) continue;
    if (r.rewrite || r.scan) slow = true;
    if (table_key(r.relation) != held && r.lock >= LockMode::kShareUpdateExclusive) slow = true;
  }
  if (!held.empty() && slow && ctx.once("held:" + transaction_key(ctx))) {
    ctx.report(
        "access-exclusive-held-across-statements",
        fmt::format("\"{}\" is still locked ACCESS EXCLUSIVE by an earlier statement of this "
                    "transaction while this one runs: all queries on it wait for both.",
                    held));
  }
}

void check_robust(RuleContext& ctx) {
  if (ctx.state().in_transaction() || ctx.st().parent >= 0) return;
  const auto& st = ctx.st();
  const json& t = st.tree;
  const char* missing = nullptr;
  const char* fix = nullptr;
  if (st.kind == "CreateStmt" && !ast::flag(t, "if_not_exists") && ctx.statements().size() > 1) {
    missing = "CREATE TABLE without IF NOT EXISTS";
    fix = "Write CREATE TABLE IF NOT EXISTS, or run the file in one transaction.";
  } else if (st.kind == "IndexStmt" && !ast::flag(t, "if_not_exists") &&
             !ast::flag(t, "concurrent") && ctx.statements().size() > 1) {
    // CONCURRENTLY IF NOT EXISTS is its own hazard (concurrently-if-not-exists).
    missing = "CREATE INDEX without IF NOT EXISTS";
    fix = "Write CREATE INDEX IF NOT EXISTS, or run the file in one transaction.";
  } else if (st.kind == "DropStmt" && !ast::flag(t, "missing_ok") &&
             (ast::flag(t, "concurrent") || ctx.statements().size() > 1)) {
    missing = "DROP without IF EXISTS";
    fix = "Write DROP ... IF EXISTS.";
  } else if (st.kind == "RenameStmt" && ast::find(t, "relation") &&
             ctx.live(ast::relation_name(ast::obj(t, "relation"))) && ctx.statements().size() > 1) {
    missing = "RENAME, which has no IF EXISTS for the old name,";
    fix =
        "Run the file in one transaction (see lint.transactions), or guard the RENAME in a DO "
        "block that checks information_schema first.";
  }
  for_each_alter(ctx, [&](const AlterCmd& c) {
    if (c.subtype == "AT_AddColumn" && !ast::flag(c.cmd, "missing_ok") && ctx.live(c.table)) {
      missing = "ADD COLUMN without IF NOT EXISTS";
      fix = "Write ADD COLUMN IF NOT EXISTS.";
    }
    if (c.subtype == "AT_DropColumn" && !ast::flag(c.cmd, "missing_ok") && ctx.live(c.table)) {
      missing = "DROP COLUMN without IF EXISTS";
      fix = "Write DROP COLUMN IF EXISTS.";
    }
    if (c.subtype == "AT_AddConstraint" && ctx.live(c.table) && ctx.statements().size() > 1) {
      missing = "ADD CONSTRAINT, which has no IF NOT EXISTS,";
      fix =
          "Run the file in one transaction (see lint.transactions), or guard it in a DO block "
          "that checks pg_constraint first.";
    }
  });
  if (missing) {
    ctx.report("prefer-robust-stmts",
               fmt::format("{} outside a transaction fails when the migration is re-run after a "
                           "partial failure.",
                           missing),
               -1, fix);
  }
}

void check(RuleContext& ctx) {
  const auto& st = ctx.st();
  if (!st.error.empty()) return;
  check_timeouts(ctx);
  check_lock_order(ctx);
  check_robust(ctx);
  if (st.kind == "TransactionStmt" && ctx.executes()) {
    std::string kind = ast::str(st.tree, "kind");
    // BEGIN in the runner's transaction starts the block the file means to
    // run (golang-migrate, dbmate and psql do not wrap files of their own).
    if ((kind == "TRANS_STMT_BEGIN" || kind == "TRANS_STMT_START") &&
        ctx.state().in_transaction() && !ctx.state().in_runner_transaction()) {
      ctx.report(
          "transaction-nesting",
          "BEGIN inside an open transaction is ignored with a warning: the COMMIT that follows "
          "ends the outer transaction too.");
    } else if ((kind == "TRANS_STMT_COMMIT" || kind == "TRANS_STMT_ROLLBACK") &&
               (!ctx.state().in_transaction() || ctx.state().in_runner_transaction()) &&
               st.parent < 0) {
      bool commit = kind == "TRANS_STMT_COMMIT";
      if (ctx.state().in_runner_transaction() && !ctx.state().runner().empty()) {
        // The runner's transaction is known: say what this ends and what follows.
        ctx.report(
            "transaction-nesting",
            fmt::format("{} ends the transaction the runner runs this file in ({}): the "
                        "statements after it run outside any transaction, each on its own{}.",
                        commit ? "COMMIT" : "ROLLBACK", ctx.state().runner(),
                        commit ? ", so a failure among them leaves the migration half applied"
                               : ", and what came before it is undone"),
            -1,
            "Remove it: the runner commits the file. For statements that cannot run in a "
            "transaction, put them in a file of their own marked to run without one.");
      } else {
        ctx.report("transaction-nesting",
                   "COMMIT or ROLLBACK without a BEGIN in this file: the tool that runs it may "
                   "have opened a transaction that this ends early.");
      }
    }
  }
  if (st.kind == "VariableSetStmt") {
    std::string name = ast::str(st.tree, "name");
    if (ast::flag(st.tree, "is_local") && !ctx.state().in_transaction() && st.parent < 0 &&
        ctx.executes()) {
      ctx.report("set-local-outside-transaction",
                 fmt::format("SET LOCAL {} outside a transaction block has no effect.", name));
    }
    if (name == "lock_timeout") {
      const json* args = ast::find(st.tree, "args");
      std::string v;
      if (args && !args->empty()) {
        const json& c = ast::obj((*args)[0], "A_Const");
        v = ast::find(c, "ival") ? std::to_string(c["ival"].value("ival", 0))
                                 : ast::string_value(c);
      }
      long long ms = timeout_ms(v);
      if (ms > 10000) {
        ctx.report(
            "lock-timeout-too-long",
            fmt::format("lock_timeout = {} lets every query on a locked table queue for up to "
                        "that long.",
                        v));
      }
    }
  }
}

}  // namespace

void check_end_of_file(const SourceText& /*src*/, const std::vector<Statement>& statements,
                       const FileState& state, std::vector<Finding>& out) {
  if (!state.in_transaction() || state.in_runner_transaction()) return;
  const RuleInfo* info = find_rule("uncommitted-transaction");
  Finding f;
  f.rule = info->id;
  f.severity = info->severity;
  f.message =
      "The transaction opened here is never committed: everything after BEGIN is rolled back "
      "when the session ends.";
  f.recipe = info->recipe;
  f.at = state.transaction_start();
  for (size_t i = 0; i < statements.size(); ++i) {
    if (statements[i].offset == f.at.offset) f.statement = static_cast<int>(i);
  }
  out.push_back(std::move(f));
}

const RuleFamily& transaction_rules() {
  static const RuleFamily family{
      "transactions",
      {
          {"missing-lock-timeout", Severity::kWarning,
           "A statement that blocks reads or writes runs without lock_timeout.",
           "A DDL statement first waits for its lock behind every open transaction on the table. "
           "While it "
           "waits, every new query on the table queues behind it, so a slow report can stall the "
           "app. "
           "lock_timeout bounds that wait.",
           "SET lock_timeout = '500ms' (or SET LOCAL inside the transaction) before the statement "
           "and retry "
           "on timeout. colshift runs every step with SET LOCAL lock_timeout and retries with "
           "backoff. If "
           "your runner sets it, set `lint.assume_lock_timeout: true` in .colshift.yaml.",
           "ALTER TABLE users ADD COLUMN note text;",
           "SET lock_timeout = '500ms';\nALTER TABLE users ADD COLUMN note text;",
           "squawk: require-lock-timeout, require-timeout-settings; eugene: E9"},
          {"missing-statement-timeout", Severity::kInfo,
           "A statement that scans or rewrites a table under a blocking lock runs without "
           "statement_timeout.",
           "If the scan takes longer than expected, nothing stops it while production waits.",
           "SET statement_timeout before it, sized to the table; better, use the non-blocking "
           "recipe.",
           "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
           "SET statement_timeout = '5s';\nSET lock_timeout = '500ms';\nALTER TABLE users ALTER "
           "COLUMN email SET NOT NULL;",
           "squawk: require-statement-timeout, require-timeout-settings"},
          {"lock-timeout-too-long", Severity::kWarning,
           "A lock_timeout above 10 seconds does not protect production.",
           "Queries queue behind a waiting lock request for up to lock_timeout.",
           "Use 100 ms to 2 s and retry with backoff (colshift does).",
           "SET lock_timeout = '1min';", "SET lock_timeout = '500ms';", ""},
          {"set-local-outside-transaction", Severity::kWarning,
           "SET LOCAL outside a transaction block has no effect.",
           "SET LOCAL lasts until the end of the current transaction; outside BEGIN ... COMMIT "
           "that is the "
           "SET statement itself, so the setting never applies to what follows.",
           "Put it after BEGIN, or use plain SET.",
           "SET LOCAL lock_timeout = '1s';\nALTER TABLE t ADD COLUMN c int;",
           "BEGIN;\nSET LOCAL lock_timeout = '1s';\nALTER TABLE t ADD COLUMN c int;\nCOMMIT;", ""},
          {"transaction-nesting", Severity::kWarning,
           "BEGIN inside a transaction, or COMMIT without BEGIN.",
           "PostgreSQL has no nested transactions: a second BEGIN is ignored and the first COMMIT "
           "ends "
           "everything. Migration runners often wrap files in a transaction already.",
           "Use one transaction per file, or SAVEPOINT for nesting.",
           "BEGIN;\nBEGIN;\nCOMMIT;\nCOMMIT;",
           "BEGIN;\nSAVEPOINT a;\nRELEASE SAVEPOINT a;\nCOMMIT;", "squawk: transaction-nesting"},
          {"uncommitted-transaction", Severity::kWarning,
           "A transaction is opened and never committed.",
           "Without COMMIT the changes are rolled back when the session ends, and every lock is "
           "held "
           "until then.",
           "Add COMMIT (or ROLLBACK) at the end of the transaction.",
           "BEGIN;\nCREATE TABLE t (id bigint);", "BEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;",
           "squawk: ban-uncommitted-transaction"},
          {"access-exclusive-held-across-statements", Severity::kWarning,
           "An ACCESS EXCLUSIVE lock is held while more statements run in the same transaction.",
           "Locks last until COMMIT. Every statement after the one that took ACCESS EXCLUSIVE "
           "lengthens "
           "the time all queries on that table are blocked.",
           "COMMIT right after the statement that takes ACCESS EXCLUSIVE, or run it last in the "
           "transaction.",
           "BEGIN;\nALTER TABLE users ADD COLUMN a int;\nUPDATE users SET a = 1 WHERE id < "
           "1000;\nCOMMIT;",
           "ALTER TABLE users ADD COLUMN a int;\nUPDATE users SET a = 1 WHERE id < 1000;",
           "eugene: E4"},
          {"lock-order-conflict", Severity::kWarning,
           "Transactions in this file lock the same tables in opposite orders and can deadlock.",
           "If one transaction locks A then B and another B then A, two concurrent runs (or the "
           "app doing "
           "the same) can each hold one lock and wait for the other.",
           "Lock tables in one global order (e.g. referenced before referencing, or alphabetical) "
           "in every "
           "transaction.",
           "BEGIN; LOCK a; LOCK b; COMMIT;\nBEGIN; LOCK b; LOCK a; COMMIT;",
           "BEGIN; LOCK a; LOCK b; COMMIT;\nBEGIN; LOCK a; LOCK b; COMMIT;", ""},
          {"prefer-robust-stmts", Severity::kWarning,
           "A statement outside a transaction fails when a partially applied migration is re-run.",
           "Outside a transaction, a failure leaves earlier statements applied. IF [NOT] EXISTS "
           "lets the "
           "file be run again safely.",
           "Add IF NOT EXISTS / IF EXISTS, or wrap the file in a transaction. ADD CONSTRAINT and "
           "RENAME have no such clause: run them in a transaction, or guard them in a DO block "
           "that checks pg_constraint / information_schema first. For CREATE INDEX CONCURRENTLY "
           "see concurrently-if-not-exists (colshift `create_index` is the robust form).",
           "ALTER TABLE t ADD COLUMN c int;\nCREATE TABLE u (id bigint);",
           "ALTER TABLE t ADD COLUMN IF NOT EXISTS c int;\nCREATE TABLE IF NOT EXISTS u (id "
           "bigint);",
           "squawk: prefer-robust-stmts"},
      },
      check};
  return family;
}

}  // namespace colshift::lint
