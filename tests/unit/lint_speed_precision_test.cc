// Issue 11, second round: the fast reader of libpg_query's JSON trees gives
// what nlohmann's parser gives; JSON output rendered on several threads is
// byte for byte the one-thread output; the precision fixes (down migrations'
// removals, long names in a DROP). Each test names the defect it pins down.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lint/linter.h"
#include "lint/output.h"
#include "lint/tree_json.h"
#include "lint_support.h"
#include "util/json_writer.h"
#include "util/parallel.h"

namespace colshift::lint {
namespace {

using json = nlohmann::json;
using testing::has_rule;
using testing::joined;
using testing::rule_ids;

// The reader must build exactly the value nlohmann's parser builds.
void expect_same(const std::string& text) {
  json ours = read_tree_json(text.c_str());
  json theirs = json::parse(text, nullptr, false);
  EXPECT_EQ(ours.is_discarded(), theirs.is_discarded()) << text;
  if (!theirs.is_discarded()) {
    EXPECT_EQ(ours, theirs) << text;
    EXPECT_EQ(ours.dump(), theirs.dump()) << text;
  }
}

TEST(LintTreeJson, ReadsWhatNlohmannReads) {
  expect_same(R"({"version":150001,"stmts":[{"stmt":{"SelectStmt":{"op":"SETOP_NONE"}}}]})");
  expect_same(R"({"a":-12,"b":0,"c":18446744073709551615,"d":-9223372036854775808,"e":1.5e3})");
  expect_same(R"({"s":"tab\there \"quoted\" back\\slash \u00e9 \u0001 \ud83d\ude00 / \/"})");
  expect_same("{\"utf8\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}");
  expect_same(R"( { "spaced" : [ 1 , true , false , null , { } , [ ] ] } )");
  expect_same(R"({"dup":1,"dup":2})");
  // Values are read in place: a repeated key's later value replaces the
  // earlier one whatever the two types are.
  expect_same(R"({"dup":{"a":[1,{"b":"c"}]},"dup":"s","x":1})");
  expect_same(R"({"dup":"a long string past the small-string buffer","dup":[1,2]})");
  expect_same(R"({"big":123456789012345678901234567890})");
  // Not JSON: discarded, as json::parse(text, nullptr, false) says.
  expect_same(R"({"a":1)");
  expect_same(R"({"a":01x})");
  expect_same("{\"bad\":\"\xff\"}");
  expect_same(R"({"a":"unterminated})");
  expect_same(R"({"a":1} trailing)");
  expect_same(R"({"a":tru})");
  EXPECT_TRUE(read_tree_json(nullptr).is_discarded());
}

TEST(LintTreeJson, DeepNestingFallsBackToNlohmann) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 5000; ++i) deep += "}";
  expect_same(deep);
}

TEST(LintTreeJson, ParsedStatementsKeepTheirTrees) {
  auto parsed_kind = [](const std::string& sql) {
    auto r = testing::lint_text(sql);
    return r.statements.empty() ? std::string() : r.statements[0].kind;
  };
  EXPECT_EQ(parsed_kind("ALTER TABLE t ADD COLUMN note text DEFAULT 'caf\xc3\xa9';"),
            "AlterTableStmt");
  EXPECT_EQ(parsed_kind("DO $$ BEGIN UPDATE t SET a = -1.5; END $$;"), "DoStmt");
}

// A fragment written at a depth is what the writer itself writes there.
TEST(LintJsonWriter, FragmentsAreWhatTheWriterWrites) {
  auto write_item = [](util::JsonWriter& w, int n) {
    w.begin_object().member("n", n).key("list").begin_array().value("x").value(n).end_array();
    w.key("empty").begin_object().end_object().end_object();
  };
  for (int indent : {2, -1}) {
    std::string direct;
    util::JsonWriter d(direct, indent);
    d.begin_object().key("files").begin_array();
    for (int n = 0; n < 3; ++n) write_item(d, n);
    d.end_array().end_object();

    std::string pieced;
    util::JsonWriter p(pieced, indent);
    p.begin_object().key("files").begin_array();
    for (int n = 0; n < 3; ++n) {
      std::string part;
      util::JsonWriter f(part, indent, p.depth());
      write_item(f, n);
      p.fragment(part);
    }
    p.end_array().end_object();
    EXPECT_EQ(pieced, direct) << indent;
  }
}

// Indentation deeper than the writer's run of spaces is still nlohmann's.
TEST(LintJsonWriter, DeepIndentIsNlohmanns) {
  std::string out;
  util::JsonWriter w(out, 2);
  json expected = json::array({"leaf", 7});
  for (int i = 0; i < 60; ++i) w.begin_object().key("k");
  w.begin_array().value("leaf").value(7).end_array();
  for (int i = 0; i < 60; ++i) {
    w.end_object();
    expected = json{{"k", expected}};
  }
  EXPECT_EQ(out, expected.dump(2));
}

// Plain runs are found eight bytes at a time: a byte to escape anywhere in
// or across a word is still escaped as nlohmann escapes it.
TEST(LintJsonWriter, EscapesAtEveryPositionOfAWord) {
  for (std::string special : {"\"", "\\", "\n", "\x01", "\x1f", "\xc3\xa9", "\x7f"}) {
    for (size_t at = 0; at < 20; ++at) {
      std::string text = std::string(at, 'a') + special + std::string(19 - at, 'b');
      std::string out;
      util::JsonWriter::escape(text, out);
      EXPECT_EQ(out, json(text).dump()) << at;
    }
  }
}

TEST(LintParallel, EveryIndexOnce) {
  for (unsigned jobs : {0u, 1u, 2u, 7u}) {
    std::vector<int> seen(1000, 0);
    util::parallel_for(seen.size(), jobs, [&](size_t i) { ++seen[i]; });
    for (int s : seen) ASSERT_EQ(s, 1) << jobs;
  }
  util::parallel_for(0, 4, [](size_t) { FAIL(); });
}

// write_json renders files on several threads, a batch at a time: the bytes
// must not depend on the number of threads, across batch boundaries too.
TEST(LintParallel, JsonOutputDoesNotDependOnThreads) {
  std::vector<FileReport> reports;
  for (int i = 0; i < 300; ++i) {
    std::string sql = "ALTER TABLE t" + std::to_string(i) +
                      " ADD COLUMN c int NOT NULL;\nCREATE INDEX i ON t (a);\nSELEC 1;\n";
    reports.push_back(lint_sql("f" + std::to_string(i) + ".sql", sql, LintOptions()));
  }
  auto render = [&](unsigned jobs) {
    std::ostringstream out;
    write_json(reports, nullptr, out, jobs);
    return out.str();
  };
  std::string one = render(1);
  EXPECT_EQ(render(2), one);
  EXPECT_EQ(render(5), one);
  EXPECT_EQ(json::parse(one), render_json(reports));
  EXPECT_EQ(json::parse(one)["files"].size(), 300u);
}

// Precision sample: a down migration's drops were judged NOISE: dropping what
// the up migration added is what a down migration is for.
TEST(LintDown, RemovalsAreTheDownMigrationsPurpose) {
  const std::string sql =
      "ALTER TABLE users DROP COLUMN a;\nALTER TABLE users ALTER COLUMN b DROP NOT NULL;\n"
      "DROP TABLE old_things;\nCREATE INDEX users_c_idx ON users (c);\n";
  auto r = lint_sql("3_x.down.sql", sql, LintOptions());
  EXPECT_TRUE(r.down);
  for (const char* rule : {"drop-column", "drop-not-null", "drop-table"}) {
    EXPECT_FALSE(has_rule(r, rule)) << rule << ": " << joined(rule_ids(r));
  }
  // Its lock hazards stay, at info.
  EXPECT_FALSE(r.findings.empty());
  for (const auto& f : r.findings) EXPECT_EQ(f.severity, Severity::kInfo) << f.rule;
  LintOptions lint;
  lint.down = DownMode::kLint;
  auto all = lint_sql("3_x.down.sql", sql, lint);
  for (const char* rule : {"drop-column", "drop-not-null", "drop-table"}) {
    EXPECT_TRUE(has_rule(all, rule)) << rule << ": " << joined(rule_ids(all));
  }
  // An up migration's drops are still reported.
  EXPECT_TRUE(has_rule(lint_sql("3_x.up.sql", sql, LintOptions()), "drop-column"));
}

// Precision sample: identifier-too-long on a DROP by the same long name was
// NOISE: the name was truncated the same way when the object was created.
TEST(LintNaming, LongNameInDropIsNotReported) {
  const std::string name(70, 'x');
  auto drop = testing::lint_text("DROP INDEX CONCURRENTLY IF EXISTS " + name + ";");
  EXPECT_FALSE(has_rule(drop, "identifier-too-long")) << joined(rule_ids(drop));
  auto create = testing::lint_text("CREATE INDEX CONCURRENTLY " + name + " ON users (email);");
  EXPECT_TRUE(has_rule(create, "identifier-too-long")) << joined(rule_ids(create));
}

const Finding* first(const FileReport& r, const std::string& rule) {
  for (const auto& f : r.findings) {
    if (f.rule == rule) return &f;
  }
  return nullptr;
}

// §4 messages: an explicit COMMIT in a file the runner runs in a transaction
// ends the runner's transaction; the message says so, naming the runner, and
// what follows runs outside it (CONCURRENTLY is fine there).
TEST(LintRunner, CommitInTheRunnersTransactionIsUnderstood) {
  const std::string sql =
      "ALTER TABLE users ADD COLUMN a int;\nCOMMIT;\nCREATE INDEX CONCURRENTLY users_a_idx ON "
      "users (a);\n";
  auto r = lint_sql("1_x.up.sql", sql, LintOptions());
  ASSERT_TRUE(r.in_transaction);
  const Finding* nesting = first(r, "transaction-nesting");
  ASSERT_NE(nesting, nullptr) << joined(rule_ids(r));
  EXPECT_NE(nesting->message.find("COMMIT ends the transaction the runner runs this file in "
                                  "(golang-migrate/sqlx layout)"),
            std::string::npos)
      << nesting->message;
  EXPECT_NE(nesting->recipe.find("the runner commits the file"), std::string::npos);
  EXPECT_FALSE(has_rule(r, "concurrently-in-transaction")) << joined(rule_ids(r));
  // A plain psql file: no runner's transaction to end.
  auto plain = lint_sql("x.sql", "COMMIT;\n", LintOptions());
  ASSERT_NE(first(plain, "transaction-nesting"), nullptr) << joined(rule_ids(plain));
  EXPECT_NE(first(plain, "transaction-nesting")->message.find("without a BEGIN"),
            std::string::npos);
}

// §4 messages: what, where (the table or index), for this statement.
TEST(LintMessages, NameTheTableOrIndex) {
  auto t = testing::lint_text("TRUNCATE orders;");
  ASSERT_NE(first(t, "truncate"), nullptr) << joined(rule_ids(t));
  EXPECT_NE(first(t, "truncate")->message.find("every row of \"orders\""), std::string::npos)
      << first(t, "truncate")->message;
  // A table created in the file is empty: truncating it harms no one.
  auto fresh = testing::lint_text("CREATE TABLE scratch (id bigint);\nTRUNCATE scratch;");
  EXPECT_FALSE(has_rule(fresh, "truncate")) << joined(rule_ids(fresh));
  auto d = testing::lint_text("DROP INDEX users_email_idx;");
  ASSERT_NE(first(d, "drop-index-non-concurrently"), nullptr) << joined(rule_ids(d));
  EXPECT_NE(first(d, "drop-index-non-concurrently")->message.find("\"users_email_idx\""),
            std::string::npos);
  // Offline, DROP INDEX's table is known only by the index: not called a table.
  auto lock = first(d, "missing-lock-timeout");
  ASSERT_NE(lock, nullptr) << joined(rule_ids(d));
  EXPECT_NE(lock->message.find("lock on the table of index \"users_email_idx\""), std::string::npos)
      << lock->message;
  auto s = testing::lint_text("ALTER TABLE users ALTER COLUMN email SET NOT NULL;");
  ASSERT_NE(first(s, "missing-statement-timeout"), nullptr) << joined(rule_ids(s));
  EXPECT_NE(first(s, "missing-statement-timeout")->message.find("the whole of \"users\""),
            std::string::npos)
      << first(s, "missing-statement-timeout")->message;
}

// lint_file reads files with one read; empty files and files in nested
// directories read as they are.
TEST(LintFilesRead, ReadsWholeFiles) {
  auto dir =
      std::filesystem::temp_directory_path() / ("colshift-lint-read-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string big;
  for (int i = 0; i < 2000; ++i) big += "SELECT " + std::to_string(i) + ";\n";
  std::ofstream(dir / "big.sql") << big;
  std::ofstream(dir / "empty.sql") << "";
  auto r = lint_file((dir / "big.sql").string(), LintOptions());
  EXPECT_EQ(r.text, big);
  EXPECT_EQ(r.statements.size(), 2000u);
  EXPECT_EQ(lint_file((dir / "empty.sql").string(), LintOptions()).text, "");
  EXPECT_THROW(lint_file((dir / "missing.sql").string(), LintOptions()), std::exception);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace colshift::lint
