// The runner's context (transaction per file, down migrations, tables made
// new in the file), parsing what real files contain (psql meta-commands,
// bare words, newer syntax), and the rule fixes of issue 11. Each test names
// the defect it pins down.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lint/config.h"
#include "lint/linter.h"
#include "lint/parse.h"
#include "lint/rules.h"
#include "lint/runner.h"
#include "lint_support.h"

namespace colshift::lint {
namespace {

using testing::count_rule;
using testing::has_rule;
using testing::joined;
using testing::lint_text;
using testing::rule_ids;

namespace fs = std::filesystem;

FileReport lint_as(const std::string& path, const std::string& sql,
                   std::optional<TransactionMode> mode = std::nullopt) {
  LintOptions o = testing::options_for(sql);
  o.transactions = mode;
  return lint_sql(path, sql, o);
}

const Finding* finding(const FileReport& r, const std::string& rule) {
  for (const auto& f : r.findings) {
    if (f.rule == rule) return &f;
  }
  return nullptr;
}

class LintTempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("colshift-lint-ctx-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& rel, const std::string& text) {
    fs::path p = dir_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

// §1: prefer-robust-stmts claimed "outside a transaction" for files that
// every common runner wraps in one.
TEST(LintContext, PerFileTransactionSilencesRobustStatements) {
  const std::string sql = "ALTER TABLE users ADD COLUMN a int;\nCREATE TABLE t (id bigint);\n";
  EXPECT_TRUE(has_rule(lint_as("x.sql", sql, TransactionMode::kNone), "prefer-robust-stmts"));
  auto r = lint_as("x.sql", sql, TransactionMode::kPerFile);
  EXPECT_FALSE(has_rule(r, "prefer-robust-stmts")) << joined(rule_ids(r));
  EXPECT_TRUE(r.in_transaction);
  // ... and CREATE INDEX CONCURRENTLY fails in the runner's transaction.
  auto c = lint_as("x.sql", "CREATE INDEX CONCURRENTLY i ON users (a);", TransactionMode::kPerFile);
  ASSERT_TRUE(has_rule(c, "concurrently-in-transaction")) << joined(rule_ids(c));
  EXPECT_NE(finding(c, "concurrently-in-transaction")->message.find("runner"), std::string::npos);
  // The runner's transaction needs no COMMIT of the file's own.
  EXPECT_FALSE(has_rule(r, "uncommitted-transaction"));
}

TEST(LintContext, RunnerPresetsAndMarkers) {
  EXPECT_EQ(parse_transaction_mode("diesel"), TransactionMode::kPerFile);
  EXPECT_EQ(parse_transaction_mode("golang-migrate"), TransactionMode::kPerFile);
  EXPECT_EQ(parse_transaction_mode("Flyway"), TransactionMode::kPerFile);
  EXPECT_EQ(parse_transaction_mode("psql"), TransactionMode::kNone);
  EXPECT_FALSE(parse_transaction_mode("liquibase").has_value());
  auto auto_mode = TransactionMode::kAuto;
  EXPECT_TRUE(run_context("db/1_add.up.sql", "", auto_mode).in_transaction);
  EXPECT_TRUE(run_context("sql/V3__add.sql", "", auto_mode).in_transaction);
  EXPECT_TRUE(
      run_context("prisma/migrations/20240101_x/migration.sql", "", auto_mode).in_transaction);
  EXPECT_TRUE(run_context("m.sql", "-- migrate:up\nSELECT 1;", auto_mode).in_transaction);
  EXPECT_FALSE(run_context("setup.sql", "SELECT 1;", auto_mode).in_transaction);
  // A marker always wins.
  EXPECT_FALSE(run_context("1_x.up.sql", "-- no-transaction\nSELECT 1;", auto_mode).in_transaction);
  EXPECT_FALSE(
      run_context("x.sql", "-- +goose NO TRANSACTION\n", TransactionMode::kPerFile).in_transaction);
  EXPECT_FALSE(run_context("m.sql", "-- migrate:up transaction:false\n", auto_mode).in_transaction);
  EXPECT_FALSE(
      run_context("5_idx.autocommit.up.sql", "", TransactionMode::kPerFile).in_transaction);
  // With a marker, CONCURRENTLY is fine again.
  auto c = lint_as("1_idx.up.sql", "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON users (a);");
  EXPECT_FALSE(has_rule(c, "concurrently-in-transaction")) << joined(rule_ids(c));
}

TEST_F(LintTempDir, DieselLayoutIsDetected) {
  std::string up = write("2024-01-01-000000_add/up.sql", "ALTER TABLE users ADD COLUMN a int;");
  write("2024-01-01-000000_add/down.sql", "ALTER TABLE users DROP COLUMN a;");
  EXPECT_TRUE(run_context(up, "", TransactionMode::kAuto).in_transaction);
  std::string lone = write("other/up.sql", "");
  EXPECT_FALSE(run_context(lone, "", TransactionMode::kAuto).in_transaction);
}

TEST(LintContext, TransactionModeInConfig) {
  auto p = fs::temp_directory_path() / ("colshift-lint-cfg-" + std::to_string(::getpid()));
  std::ofstream(p) << "lint:\n  transactions: sqlx\n  down: skip\n";
  auto c = load_config(p.string());
  EXPECT_EQ(c.transactions, TransactionMode::kPerFile);
  EXPECT_EQ(c.down, DownMode::kSkip);
  std::ofstream(p) << "lint:\n  transactions: sometimes\n";
  try {
    load_config(p.string());
    ADD_FAILURE() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("'sometimes' is not a lint.transactions setting"),
              std::string::npos)
        << e.what();
  }
  fs::remove(p);
}

// §1: a down migration restores an old shape on purpose.
TEST(LintContext, DownMigrationFindingsAreInfo) {
  const std::string sql = "ALTER TABLE users DROP COLUMN a;\nDROP TABLE old_things;\n";
  auto r = lint_as("3_x.down.sql", sql);
  EXPECT_TRUE(r.down);
  ASSERT_FALSE(r.findings.empty());
  for (const auto& f : r.findings) EXPECT_EQ(f.severity, Severity::kInfo) << f.rule;
  LintOptions o;
  o.down = DownMode::kSkip;
  EXPECT_TRUE(lint_sql("3_x.down.sql", sql, o).findings.empty());
  o.down = DownMode::kLint;
  EXPECT_TRUE(
      has_errors(lint_sql("3_x.down.sql", "ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0);", o)));
  EXPECT_TRUE(has_rule(lint_sql("3_x.down.sql", sql, o), "drop-column"));
  EXPECT_TRUE(run_context("sql/U3__x.sql", "", TransactionMode::kAuto).down);
  EXPECT_FALSE(run_context("sql/V3__x.sql", "", TransactionMode::kAuto).down);
}

// §1: tables created in the file by CREATE TABLE AS, SELECT INTO, or renamed
// after creation are new and empty.
TEST(LintContext, TablesMadeInTheFileAreNew) {
  auto as = lint_text("CREATE TABLE t2 AS SELECT * FROM users;\nCREATE INDEX t2_a ON t2 (a);");
  EXPECT_FALSE(has_rule(as, "create-index-non-concurrently")) << joined(rule_ids(as));
  auto into = lint_text("SELECT * INTO t3 FROM users;\nCREATE INDEX t3_a ON t3 (a);");
  EXPECT_FALSE(has_rule(into, "create-index-non-concurrently")) << joined(rule_ids(into));
  auto renamed = lint_text(
      "CREATE TABLE users_new (id bigint, email text);\nALTER TABLE users_new RENAME TO "
      "accounts;\nCREATE INDEX accounts_email_idx ON accounts (email);\nALTER TABLE accounts "
      "ADD CONSTRAINT e CHECK (email <> '');");
  EXPECT_FALSE(has_rule(renamed, "create-index-non-concurrently")) << joined(rule_ids(renamed));
  EXPECT_FALSE(has_rule(renamed, "constraint-missing-not-valid")) << joined(rule_ids(renamed));
  // A live table renamed is still live.
  auto live = lint_text("ALTER TABLE users RENAME TO people;\nCREATE INDEX p_e ON people (e);");
  EXPECT_TRUE(has_rule(live, "create-index-non-concurrently")) << joined(rule_ids(live));
}

// §2: the default target is the parser's version, not 17.
TEST(LintContext, DefaultTargetIsTheParsersVersion) {
  EXPECT_EQ(LintOptions().effective_pg_version(), parser_pg_version() / 10000 * 10000);
  EXPECT_EQ(lint_text("SELECT 1;").pg_version, 150000);
  LintOptions o;
  o.catalog.loaded = true;
  o.catalog.server_version = 140005;
  EXPECT_EQ(o.effective_pg_version(), 140005);
}

// §2: newer syntax is named, and the table its head creates is still new.
TEST(LintContext, NewerSyntaxIsNamedAndItsTableTracked) {
  auto r = lint_text(
      "CREATE TABLE items (id bigint, name text, CONSTRAINT items_name_nn NOT NULL name);\n"
      "CREATE INDEX items_name_idx ON items (name);");
  ASSERT_TRUE(has_rule(r, "syntax-error")) << joined(rule_ids(r));
  EXPECT_NE(finding(r, "syntax-error")->message.find("PostgreSQL 18 syntax"), std::string::npos)
      << finding(r, "syntax-error")->message;
  EXPECT_NE(finding(r, "syntax-error")->message.find("PostgreSQL 15"), std::string::npos);
  EXPECT_FALSE(has_rule(r, "create-index-non-concurrently")) << joined(rule_ids(r));
  auto plain = lint_text("ALTER TABLE users ADD COLUMN;");
  EXPECT_NE(finding(plain, "syntax-error")->recipe.find("meta-command"), std::string::npos);
  EXPECT_NE(finding(plain, "syntax-error")->recipe.find("PostgreSQL 15"), std::string::npos);
}

// §2: a meta-command swallowed the statement after it.
TEST(LintContext, PsqlMetaCommandsAreSkippedNotSwallowing) {
  auto r = lint_text("\\i other.sql\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n");
  EXPECT_TRUE(has_rule(r, "set-not-null")) << joined(rule_ids(r));
  EXPECT_FALSE(has_rule(r, "syntax-error")) << joined(rule_ids(r));
  ASSERT_TRUE(has_rule(r, "psql-meta-command"));
  EXPECT_EQ(finding(r, "psql-meta-command")->at.line, 1);
  EXPECT_NE(finding(r, "psql-meta-command")->message.find("not linted"), std::string::npos);
  auto b = lint_text("\\set ON_ERROR_STOP on\nBEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;\n");
  EXPECT_FALSE(has_rule(b, "transaction-nesting")) << joined(rule_ids(b));
  EXPECT_FALSE(has_rule(b, "syntax-error")) << joined(rule_ids(b));
  // A backslash inside a string or a dollar-quoted body is not a meta-command.
  auto s = parse_sql("SELECT '\n\\x';\nCOMMENT ON TABLE t IS $$\n\\n $$;\n");
  EXPECT_TRUE(s.meta_commands.empty());
  EXPECT_EQ(s.statements.size(), 2u);
}

// §2: bare words are syntax errors, not dropped.
TEST(LintContext, BareWordStatementsAreSyntaxErrors) {
  for (const char* sql : {"SELEC 1;", "foo;", "SELECT 1;\nfoo;\nSELECT 2;"}) {
    auto r = lint_text(sql);
    EXPECT_EQ(count_rule(r, "syntax-error"), 1) << sql << ": " << joined(rule_ids(r));
  }
}

// §2: `lint .` linted package.json.
TEST_F(LintTempDir, DirectoriesYieldMigrationsOnly) {
  write("package.json", "{\"name\": \"app\"}");
  write(".github/ci.yml", "on: push\n");
  write("docker-compose.yml", "services: {}\n");
  std::string sql = write("migrations/1_a.up.sql", "SELECT 1;");
  std::string yaml = write("migrations/0002_x.yaml", "purpose: x\noperations:\n  - x: {}\n");
  auto files = collect_files({dir_.string()}, LintConfig{});
  std::sort(files.begin(), files.end());
  std::vector<std::string> want = {yaml, sql};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(files, want);
  // A file named explicitly is linted whatever it is.
  EXPECT_EQ(collect_files({(dir_ / "package.json").string()}, LintConfig{}).size(), 1u);
}

// §4: ADD COLUMN ... REFERENCES on an existing table got no finding.
TEST(LintContext, AddColumnReferencesIsChecked) {
  auto r = lint_text("ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);");
  EXPECT_TRUE(has_rule(r, "foreign-key-without-index")) << joined(rule_ids(r));
  EXPECT_FALSE(has_rule(r, "foreign-key-missing-not-valid")) << "no default: nothing validated";
  auto d =
      lint_text("ALTER TABLE orders ADD COLUMN user_id bigint DEFAULT 1 REFERENCES users (id);");
  EXPECT_TRUE(has_rule(d, "foreign-key-missing-not-valid")) << joined(rule_ids(d));
  // The referenced table is named in the facts, SHARE ROW EXCLUSIVE.
  bool named = false;
  for (const auto& f : r.facts[0].relations) {
    if (f.relation == "users") {
      named = true;
      EXPECT_EQ(f.lock, LockMode::kShareRowExclusive);
    }
  }
  EXPECT_TRUE(named);
  auto later = lint_text(
      "ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);\n"
      "CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);");
  EXPECT_FALSE(has_rule(later, "foreign-key-without-index"));
}

// §4: a whole-table UPDATE ... FROM ... WHERE a.id = b.id went unflagged.
TEST(LintContext, UpdateFromJoinTouchesEveryRow) {
  auto r =
      lint_text("UPDATE orders o SET total = s.total FROM order_sums s WHERE o.id = s.order_id;");
  EXPECT_TRUE(has_rule(r, "unbatched-update")) << joined(rule_ids(r));
  EXPECT_TRUE(r.facts[0].relations[0].scan);
  auto batched = lint_text(
      "UPDATE orders o SET total = s.total FROM order_sums s WHERE o.id = s.order_id AND o.id "
      "< 10000;");
  EXPECT_FALSE(has_rule(batched, "unbatched-update"));
  auto del = lint_text("DELETE FROM orders o USING gone g WHERE o.id = g.id;");
  EXPECT_TRUE(has_rule(del, "unbatched-delete")) << joined(rule_ids(del));
}

// §4: the volatility of a function defined earlier in the same file.
TEST(LintContext, FunctionVolatilityFromTheSameFile) {
  auto stable = lint_text(
      "CREATE FUNCTION default_plan() RETURNS text LANGUAGE sql IMMUTABLE AS $$SELECT 'free'$$;\n"
      "ALTER TABLE users ADD COLUMN plan text DEFAULT default_plan();");
  EXPECT_FALSE(has_rule(stable, "add-column-default-unproven")) << joined(rule_ids(stable));
  EXPECT_FALSE(has_rule(stable, "add-column-volatile-default"));
  auto vol = lint_text(
      "CREATE FUNCTION new_token() RETURNS text LANGUAGE sql AS $$SELECT md5(random()::text)$$;\n"
      "ALTER TABLE users ADD COLUMN token text DEFAULT new_token();");
  EXPECT_TRUE(has_rule(vol, "add-column-volatile-default")) << joined(rule_ids(vol));
  EXPECT_TRUE(vol.facts[1].relations[0].rewrite);
}

// §4 noise: prefer-bigint-id on a foreign key that must match an int key.
TEST(LintContext, IntForeignKeyToAnExistingKeyIsNotRunningOut) {
  auto r = lint_text("CREATE TABLE posts (id bigint PRIMARY KEY, user_id int REFERENCES users);");
  ASSERT_TRUE(has_rule(r, "prefer-bigint-id")) << joined(rule_ids(r));
  const Finding* f = finding(r, "prefer-bigint-id");
  EXPECT_EQ(f->message.find("2,147,483,647"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("widened with it"), std::string::npos) << f->message;
  auto own = lint_text("CREATE TABLE posts (id int PRIMARY KEY);");
  EXPECT_NE(finding(own, "prefer-bigint-id")->message.find("2,147,483,647"), std::string::npos);
}

// §4 noise: index-too-many-columns on pagination and sort indexes.
TEST(LintContext, PaginationIndexesMayBeWide) {
  auto page = lint_text(
      "CREATE INDEX CONCURRENTLY e_page ON events (org_id, kind, created_at DESC, id DESC);");
  EXPECT_FALSE(has_rule(page, "index-too-many-columns")) << joined(rule_ids(page));
  auto tie = lint_text("CREATE INDEX CONCURRENTLY e_tie ON events (org_id, kind, created_at, id);");
  EXPECT_FALSE(has_rule(tie, "index-too-many-columns"));
  auto wide = lint_text("CREATE INDEX CONCURRENTLY e_w ON events (a, b, c, d);");
  EXPECT_TRUE(has_rule(wide, "index-too-many-columns"));
}

// §4 noise: foreign-key-without-index ignored a UNIQUE added in the same ALTER.
TEST(LintContext, UniqueInTheSameAlterSupportsTheForeignKey) {
  auto r = lint_text(
      "ALTER TABLE profiles ADD CONSTRAINT profiles_user_key UNIQUE (user_id), ADD CONSTRAINT "
      "profiles_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;");
  EXPECT_FALSE(has_rule(r, "foreign-key-without-index")) << joined(rule_ids(r));
}

// §4 noise: unclear-name's canned "payload_json" suggestion on an index.
TEST(LintContext, ShortIndexNameGetsAnIndexName) {
  auto r = lint_text("CREATE INDEX CONCURRENTLY i ON users (email, created_at);");
  const Finding* f = finding(r, "unclear-name");
  ASSERT_NE(f, nullptr) << joined(rule_ids(r));
  EXPECT_EQ(f->recipe, "Name it after them, e.g. users_email_created_at_idx.");
}

// §4: "waits for an SHARE ROW EXCLUSIVE lock ... every query on the table
// queues" was wrong twice.
TEST(LintContext, LockTimeoutMessageNamesTableAndWhatWaits) {
  auto r = lint_text("CREATE TRIGGER t BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION f();");
  const Finding* f = finding(r, "missing-lock-timeout");
  ASSERT_NE(f, nullptr) << joined(rule_ids(r));
  EXPECT_EQ(f->message,
            "This statement waits for a SHARE ROW EXCLUSIVE lock on \"users\" with no "
            "lock_timeout: while it waits, every write to \"users\" queues behind it (reads "
            "continue).");
  auto a = lint_text("ALTER TABLE users ADD COLUMN c int;");
  EXPECT_EQ(finding(a, "missing-lock-timeout")->message,
            "This statement waits for an ACCESS EXCLUSIVE lock on \"users\" with no "
            "lock_timeout: while it waits, every query on \"users\" queues behind it.");
  EXPECT_LT(finding(a, "missing-lock-timeout")->recipe.size(), 120u);
}

// §4: error only for hazards on a live table; style rules are info.
TEST(LintContext, SeverityTiers) {
  for (const char* style : {"prefer-timestamptz", "prefer-jsonb", "ban-char", "quoted-identifier",
                            "reserved-identifier", "prefer-text", "prefer-identity", "unclear-name",
                            "index-too-many-columns", "prefer-bigint-id"}) {
    EXPECT_EQ(find_rule(style)->severity, Severity::kInfo) << style;
  }
  for (const char* not_a_hazard : {"missing-lock-timeout", "uncommitted-transaction",
                                   "lock-order-conflict", "identifier-too-long"}) {
    EXPECT_NE(find_rule(not_a_hazard)->severity, Severity::kError) << not_a_hazard;
  }
}

}  // namespace
}  // namespace colshift::lint
